import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireActor, type Authenticator } from '../../http/auth.js';
import { actorOf } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { problemsOf } from '../../http/schemas.js';
import { commonErrors } from '../../shared/index.js';
import { appIdParams, appsErrors, type AppsService } from '../apps/index.js';
import type { StoreService } from './store.service.js';
import { downloadsQuery, downloadsResponse } from './store.schemas.js';

const problems = problemsOf(appsErrors, commonErrors);

/** GET /v1/apps/{app_id}/downloads: the developer's download counts, per day and version. */
export const downloadsRoutes: FeatureRoutes<{ store: StoreService; apps: AppsService; auth: Authenticator }> = (app, { core }) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/apps/:app_id/downloads',
    {
      preHandler: requireActor(core.auth, 'apps:read'),
      schema: {
        tags: ['apps'],
        summary: "Downloads of an app's versions per UTC day",
        description: 'Each device counts once per version a day. Counts reach this list within seconds of the download.',
        params: appIdParams,
        querystring: downloadsQuery,
        response: { 200: downloadsResponse, ...problems('validation_failed', 'unauthorized', 'insufficient_scope', 'api_key_app_restricted', 'app_not_found') },
      },
    },
    async (request) => {
      const owned = await core.apps.owned(actorOf(request), request.params.app_id);
      return { items: await core.store.downloadsOf(owned.id, request.query.days) };
    },
  );
};
