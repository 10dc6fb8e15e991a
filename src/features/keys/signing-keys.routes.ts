import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { pageQuery, pageSchema } from '../../http/pagination.js';
import { authenticated, problemsOf, JSON_BODY, PAGED, SIGNED_IN, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { createSigningKeyBody, signingKeyParams, signingKeyResponse } from './signing-keys.schemas.js';
import type { SigningKeysService } from './signing-keys.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { keysErrors } from './keys.errors.js';

const problems = problemsOf(keysErrors);

export const signingKeysRoutes: FeatureRoutes<{ signingKeys: SigningKeysService; auth: Authenticator }> = (app, { core }) => {
  const { signingKeys: service, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['signing keys'];
  const guard = requireActor(auth, 'keys:manage');

  r.get(
    '/v1/signing-keys',
    { preHandler: guard, schema: { tags, security: authenticated, summary: "The caller's package signing keys", querystring: pageQuery, response: { 200: pageSchema(signingKeyResponse), ...problems(...SIGNED_IN, ...PAGED, 'api_key_app_restricted') } } },
    (request) => service.list(actorOf(request), request.query),
  );

  r.post(
    '/v1/signing-keys',
    { preHandler: guard, schema: { tags, security: authenticated, summary: 'Register an Ed25519 public key', body: createSigningKeyBody, response: { 201: signingKeyResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, 'api_key_app_restricted', 'invalid_public_key', 'signing_key_exists') } } },
    async (request, reply) => reply.code(201).send(await service.register(actorOf(request), request.body, request.ip)),
  );

  r.delete(
    '/v1/signing-keys/:id',
    { preHandler: guard, schema: { tags, security: authenticated, summary: 'Revoke a signing key', params: signingKeyParams, response: { 204: z.undefined().describe('Revoked'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', 'api_key_app_restricted', 'signing_key_not_found') } } },
    async (request, reply) => {
      await service.revoke(actorOf(request), request.params.id, request.ip);
      return reply.code(204).send();
    },
  );
};
