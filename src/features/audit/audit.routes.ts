import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, problemResponses } from '../../http/schemas.js';
import { auditEntryResponse, auditQuery } from './audit.schemas.js';
import type { AuditLog } from './audit.service.js';

/** GET /v1/admin/audit. The admin guard comes from accounts, which owns roles. */
export function auditRoutes(app: FastifyInstance, audit: AuditLog, adminGuard: preHandlerAsyncHookHandler): void {
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
        response: { 200: pageSchema(auditEntryResponse), ...problemResponses(400, 401, 403) },
      },
    },
    (request) => audit.list(request.query),
  );
}
