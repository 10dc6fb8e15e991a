import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ifNoneMatch } from '../../http/conditional.js';
import { emptyBody } from '../../http/head-body.js';
import { problemsOf } from '../../http/schemas.js';
import type { AppImagesService } from './images.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { appsErrors } from './apps.errors.js';

const problems = problemsOf(appsErrors);

const mediaParams = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase SHA-256 hex digest') });

/**
 * Public images of apps by content address. The address is the hash of the bytes, so an answer
 * can be cached forever and its hash is its ETag.
 */
export const mediaRoutes: FeatureRoutes<{ appImages: AppImagesService }> = (app, { core }) => {
  const service = core.appImages;
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/media/:sha256',
    {
      schema: {
        tags: ['media'],
        summary: "An app's icon or screenshot",
        description: 'Public. Serves only blobs that are a current icon or screenshot; immutable, cache forever.',
        params: mediaParams,
        response: { 200: z.unknown().meta({ description: 'The image bytes (image/png or image/webp)' }), 304: z.undefined().describe('Not modified'), ...problems('validation_failed', 'media_not_found') },
      },
    },
    async (request, reply) => {
      const { sha256 } = request.params;
      const media = await service.media(sha256);
      const etag = `"${sha256}"`;
      void reply
        .header('etag', etag)
        .header('cache-control', 'public, max-age=31536000, immutable')
        // Store fronts on other origins embed these images; everything else stays same-site.
        .header('cross-origin-resource-policy', 'cross-origin');
      // A revalidation touches no blob; a HEAD reads only the size.
      if (ifNoneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      const size = await media.size();
      return reply.type(media.contentType).header('content-length', size).send(request.method === 'HEAD' ? emptyBody() : await media.open());
    },
  );
};
