import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { pageQuery, pageSchema } from '../../http/pagination.js';
import { authenticated, problemsOf, JSON_BODY, PAGED, SIGNED_IN, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { apiKeyParams, apiKeyResponse, createApiKeyBody, createdApiKeyResponse } from './api-keys.schemas.js';
import type { ApiKeysService } from './api-keys.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { keysErrors } from './keys.errors.js';

const problems = problemsOf(keysErrors);

export const apiKeysRoutes: FeatureRoutes<{ apiKeys: ApiKeysService; auth: Authenticator }> = (app, { core }) => {
  const { apiKeys: service, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['api keys'];
  const guard = requireActor(auth, 'keys:manage');

  r.get(
    '/v1/keys',
    { preHandler: guard, schema: { tags, security: authenticated, summary: "The caller's API keys (prefix only)", querystring: pageQuery, response: { 200: pageSchema(apiKeyResponse), ...problems(...SIGNED_IN, ...PAGED, 'api_key_app_restricted') } } },
    (request) => service.list(actorOf(request), request.query),
  );

  r.post(
    '/v1/keys',
    { preHandler: guard, schema: { tags, security: authenticated, summary: 'Create an API key (shown once)', body: createApiKeyBody, response: { 201: createdApiKeyResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, 'api_key_app_restricted', 'invalid_expiry', 'expiry_beyond_parent_key') } } },
    async (request, reply) => reply.code(201).send(await service.create(actorOf(request), request.body, request.ip)),
  );

  r.delete(
    '/v1/keys/:id',
    { preHandler: guard, schema: { tags, security: authenticated, summary: 'Revoke an API key', params: apiKeyParams, response: { 204: z.undefined().describe('Revoked'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', 'api_key_app_restricted', 'api_key_not_found') } } },
    async (request, reply) => {
      await service.revoke(actorOf(request), request.params.id, request.ip);
      return reply.code(204).send();
    },
  );
};
