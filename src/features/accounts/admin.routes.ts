import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireUser, type Authenticator } from '../../http/auth.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, problemResponses } from '../../http/schemas.js';
import type { Role } from '../../shared/index.js';
import { adminUserResponse, listUsersQuery, updateUserBody, userIdParams } from './accounts.schemas.js';
import type { AdminService } from './admin.service.js';

/**
 * The guard of routes for privileged roles: signed in as the user (no API key), holding one of the
 * roles, with TOTP on when REQUIRE_2FA_ROLES asks for it. The review feature uses it with
 * ['reviewer', 'admin'].
 */
export function roleGuard(auth: Authenticator, admin: AdminService, roles: readonly Role[]): preHandlerAsyncHookHandler {
  const user = requireUser(auth);
  return async function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
    await user.call(this as never, request, reply);
    await admin.assertRole(actorOf(request), roles);
  };
}

/** The guard of every admin route; other features' admin routes (the audit log) use it too. */
export function adminGuard(auth: Authenticator, admin: AdminService): preHandlerAsyncHookHandler {
  return roleGuard(auth, admin, ['admin']);
}

export function adminRoutes(app: FastifyInstance, admin: AdminService, auth: Authenticator): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin'];
  const guard = adminGuard(auth, admin);

  r.get(
    '/v1/admin/users',
    {
      preHandler: guard,
      schema: { tags, security: authenticated, summary: 'List users', querystring: listUsersQuery, response: { 200: pageSchema(adminUserResponse), ...problemResponses(400, 401, 403) } },
    },
    (request) => admin.listUsers(actorOf(request), request.query),
  );

  r.patch(
    '/v1/admin/users/:id',
    {
      preHandler: guard,
      schema: {
        tags,
        security: authenticated,
        summary: "Change a user's role or suspend them (their tokens, sessions and keys stop at once)",
        params: userIdParams,
        body: updateUserBody,
        response: { 200: adminUserResponse, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    (request) => admin.updateUser(actorOf(request), request.params.id, request.body, request.ip),
  );
}
