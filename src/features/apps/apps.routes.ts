import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, problemsOf, JSON_BODY, PAGED, SIGNED_IN, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { appIdParams, appResponse, createAppBody, listAppsQuery, updateAppBody } from './apps.schemas.js';
import type { AppsService } from './apps.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { appsErrors, OWN_APP } from './apps.errors.js';

const problems = problemsOf(appsErrors);

export const appsRoutes: FeatureRoutes<{ apps: AppsService; auth: Authenticator }> = (app, { core }) => {
  const { apps: service, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['apps'];
  const security = authenticated;

  r.get(
    '/v1/apps',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: { tags, security, summary: "The caller's apps", querystring: listAppsQuery, response: { 200: pageSchema(appResponse), ...problems(...SIGNED_IN, ...PAGED) } },
    },
    (request) => service.list(actorOf(request), request.query),
  );

  r.post(
    '/v1/apps',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: { tags, security, summary: 'Register an app', body: createAppBody, response: { 201: appResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, 'api_key_app_restricted', 'package_id_taken') } },
    },
    async (request, reply) => reply.code(201).send(await service.create(actorOf(request), request.body)),
  );

  r.get(
    '/v1/apps/:app_id',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: { tags, security, summary: 'One of the caller\'s apps', params: appIdParams, response: { 200: appResponse, ...problems(...SIGNED_IN, 'validation_failed', ...OWN_APP) } },
    },
    (request) => service.get(actorOf(request), request.params.app_id),
  );

  r.patch(
    '/v1/apps/:app_id',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: { tags, security, summary: 'Edit the listing fields of an app', params: appIdParams, body: updateAppBody, response: { 200: appResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, ...OWN_APP) } },
    },
    (request) => service.update(actorOf(request), request.params.app_id, request.body),
  );

  r.delete(
    '/v1/apps/:app_id',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: {
        tags,
        security,
        summary: 'Delete an app that has never been published',
        description: 'Refused with 409 app_has_published_versions once a version is published or yanked.',
        params: appIdParams,
        response: { 204: z.undefined().describe('Deleted'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...OWN_APP, 'app_has_published_versions') },
      },
    },
    async (request, reply) => {
      await service.delete(actorOf(request), request.params.app_id, request.ip);
      return reply.code(204).send();
    },
  );
};
