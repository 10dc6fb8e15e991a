import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { authenticated, problemResponses } from '../../http/schemas.js';
import type { AccessTokens } from './access-tokens.js';
import { loginBody, refreshBody, registerBody, sessionResponse, userResponse } from './accounts.schemas.js';
import type { AccountsService } from './accounts.service.js';

export function accountsRoutes(app: FastifyInstance, service: AccountsService, auth: Authenticator, tokens: AccessTokens): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['accounts'];

  r.post(
    '/v1/auth/register',
    { schema: { tags, summary: 'Create a developer account', body: registerBody, response: { 201: sessionResponse, ...problemResponses(400, 409, 422) } } },
    async (request, reply) => reply.code(201).send(await service.register(request.body)),
  );

  r.post(
    '/v1/auth/login',
    { schema: { tags, summary: 'Sign in with email and password', body: loginBody, response: { 200: sessionResponse, ...problemResponses(400, 401, 403) } } },
    (request) => service.login(request.body),
  );

  r.post(
    '/v1/auth/refresh',
    { schema: { tags, summary: 'Exchange a refresh token for a new pair', body: refreshBody, response: { 200: sessionResponse, ...problemResponses(400, 401) } } },
    (request) => service.refresh(request.body.refresh_token),
  );

  r.get(
    '/v1/auth/me',
    {
      preHandler: requireActor(auth),
      schema: { tags, summary: 'The signed-in user', security: authenticated, response: { 200: userResponse, ...problemResponses(401) } },
    },
    (request) => service.me(actorOf(request)),
  );

  r.get('/.well-known/jwks.json', { schema: { tags, summary: 'Public keys of the access-token signer' } }, () => tokens.jwks());
}
