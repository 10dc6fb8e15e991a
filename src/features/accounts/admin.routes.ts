import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireRole, type Authenticator } from '../../http/auth.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, JSON_BODY, PAGED, PRIVILEGED, problemsOf } from '../../http/schemas.js';
import { adminUserResponse, listUsersQuery, updateUserBody, userIdParams } from './accounts.schemas.js';
import type { AdminService } from './admin.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { accountsErrors } from './accounts.errors.js';

const problems = problemsOf(accountsErrors);

export const adminRoutes: FeatureRoutes<{ admin: AdminService; auth: Authenticator }> = (app, { core }) => {
  const { admin, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin'];
  const guard = requireRole(auth, admin, ['admin']);

  r.get(
    '/v1/admin/users',
    {
      preHandler: guard,
      schema: { tags, security: authenticated, summary: 'List users', querystring: listUsersQuery, response: { 200: pageSchema(adminUserResponse), ...problems(...PRIVILEGED, ...PAGED) } },
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
        response: { 200: adminUserResponse, ...problems(...PRIVILEGED, ...JSON_BODY, 'user_not_found', 'cannot_change_self') },
      },
    },
    (request) => admin.updateUser(actorOf(request), request.params.id, request.body, request.ip),
  );
};
