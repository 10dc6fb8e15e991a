import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireRole, type Authenticator, type RoleCheck } from '../../http/auth.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, PAGED, PRIVILEGED, problemsOf } from '../../http/schemas.js';
import { auditEntryResponse, auditQuery } from './audit.schemas.js';
import type { AuditLog } from './audit.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';

const problems = problemsOf();

/** GET /v1/admin/audit. Admins only (the role check is the accounts feature's, through the core). */
export const auditRoutes: FeatureRoutes<{ audit: AuditLog; auth: Authenticator; admin: RoleCheck }> = (app, { core }) => {
  const { audit } = core;
  const adminGuard = requireRole(core.auth, core.admin, ['admin']);
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/admin/audit',
    {
      preHandler: adminGuard,
      schema: {
        tags: ['admin'],
        security: authenticated,
        summary: 'The audit log, newest first, with filters',
        querystring: auditQuery,
        response: { 200: pageSchema(auditEntryResponse), ...problems(...PRIVILEGED, ...PAGED) },
      },
    },
    (request) => audit.list(request.query),
  );
};
