import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { authenticated, problemsOf, SIGNED_IN, SIGNED_IN_WRITE, UPLOAD } from '../../http/schemas.js';
import { registerUploads, uploadStream } from '../../http/upload.js';
import { appIdParams, appResponse, screenshotResponse } from './apps.schemas.js';
import { MAX_IMAGE_BYTES, type AppImagesService } from './images.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { appsError, appsErrors, OWN_APP } from './apps.errors.js';

const problems = problemsOf(appsErrors);

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const FIELD = 'image';
const HOW = `Send the image as the multipart/form-data field "${FIELD}" or as a raw ${IMAGE_TYPES.join(', ')} or application/octet-stream body.`;

const screenshotParams = z.object({ app_id: z.string().min(1).max(64), screenshot_id: z.string().min(1).max(64) });

const uploadDescription =
  `${HOW} At most ${MAX_IMAGE_BYTES / 1024 / 1024} MiB. The declared type is not trusted: the bytes must decode as PNG, JPEG or WebP. ` +
  'The stored image is re-encoded, so EXIF, GPS and every other metadata are gone.';

function imageUpload(request: FastifyRequest): Promise<Readable> {
  return uploadStream(request, { field: FIELD, maxBytes: MAX_IMAGE_BYTES, missing: (detail) => appsError('image_missing', detail), how: HOW });
}

export const appImagesRoutes: FeatureRoutes<{ appImages: AppImagesService; auth: Authenticator }> = (app, { core }) => {
  const { appImages: service, auth } = core;
  // Its own plugin scope, so multipart and raw image bodies stream to these routes only.
  void app.register(async (scope) => {
    await registerUploads(scope);
    scope.addContentTypeParser(IMAGE_TYPES, (_request, payload, parsed) => parsed(null, payload));
    routes(scope, service, auth);
  });
};

function routes(scope: FastifyInstance, service: AppImagesService, auth: Authenticator): void {
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['apps'];
  const security = authenticated;
  const uploadProblems = problems(...SIGNED_IN_WRITE, 'validation_failed', ...OWN_APP, ...UPLOAD, 'image_missing', 'image_unsupported_type', 'image_dimensions', 'image_invalid', 'screenshot_limit_reached');

  r.post(
    '/v1/apps/:app_id/icon',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: {
        tags,
        security,
        summary: "Set or replace an app's icon",
        description: `${uploadDescription} The icon must be square, 128 to 1024 pixels per side; it is stored as a 512×512 PNG.`,
        params: appIdParams,
        response: { 200: appResponse, ...uploadProblems },
      },
    },
    (request) => service.setIcon(actorOf(request), request.params.app_id, () => imageUpload(request)),
  );

  r.delete(
    '/v1/apps/:app_id/icon',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: { tags, security, summary: "Remove an app's icon", params: appIdParams, response: { 204: z.undefined().describe('Deleted'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...OWN_APP, 'icon_not_found') } },
    },
    async (request, reply) => {
      await service.removeIcon(actorOf(request), request.params.app_id);
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/apps/:app_id/screenshots',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: {
        tags,
        security,
        summary: 'Add a screenshot',
        description: `${uploadDescription} 320 to 3840 pixels per side, at most 8 per app; PNG stays PNG, JPEG and WebP become WebP.`,
        params: appIdParams,
        response: { 201: screenshotResponse, ...uploadProblems },
      },
    },
    async (request, reply) => reply.code(201).send(await service.addScreenshot(actorOf(request), request.params.app_id, () => imageUpload(request))),
  );

  r.get(
    '/v1/apps/:app_id/screenshots',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: {
        tags,
        security,
        summary: "An app's screenshots, oldest first",
        params: appIdParams,
        response: { 200: z.object({ items: z.array(screenshotResponse), next_cursor: z.null() }), ...problems(...SIGNED_IN, 'validation_failed', ...OWN_APP) },
      },
    },
    (request) => service.listScreenshots(actorOf(request), request.params.app_id),
  );

  r.delete(
    '/v1/apps/:app_id/screenshots/:screenshot_id',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: { tags, security, summary: 'Delete a screenshot', params: screenshotParams, response: { 204: z.undefined().describe('Deleted'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...OWN_APP, 'screenshot_not_found') } },
    },
    async (request, reply) => {
      await service.removeScreenshot(actorOf(request), request.params.app_id, request.params.screenshot_id);
      return reply.code(204).send();
    },
  );
}
