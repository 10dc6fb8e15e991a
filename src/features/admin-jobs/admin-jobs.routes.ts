import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireRole, type Authenticator, type RoleCheck } from '../../http/auth.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, PAGED, PRIVILEGED, problemsOf } from '../../http/schemas.js';
import { jobIdParams, jobListQuery, jobResponse, jobSummaryResponse } from './admin-jobs.schemas.js';
import type { AdminJobsService } from './admin-jobs.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { jobsErrors } from '../../jobs/index.js';

const problems = problemsOf(jobsErrors);

/** GET /v1/admin/jobs (and its summary), POST /v1/admin/jobs/{id}/retry, DELETE /v1/admin/jobs/{id}. Admins only. */
export const adminJobsRoutes: FeatureRoutes<{ adminJobs: AdminJobsService; auth: Authenticator; admin: RoleCheck }> = (app, { core }) => {
  const service = core.adminJobs;
  const adminGuard = requireRole(core.auth, core.admin, ['admin']);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['admin'];
  r.get(
    '/v1/admin/jobs',
    {
      preHandler: adminGuard,
      schema: {
        tags,
        security: authenticated,
        summary: 'Background jobs, newest first, by state and kind (payloads are not shown)',
        querystring: jobListQuery,
        response: { 200: pageSchema(jobResponse), ...problems(...PRIVILEGED, ...PAGED) },
      },
    },
    (request) => service.list(request.query),
  );
  r.get(
    '/v1/admin/jobs/summary',
    {
      preHandler: adminGuard,
      schema: { tags, security: authenticated, summary: 'How many jobs are in each state, in all and by kind', response: { 200: jobSummaryResponse, ...problems(...PRIVILEGED) } },
    },
    () => service.summary(),
  );
  r.delete(
    '/v1/admin/jobs/:id',
    {
      preHandler: adminGuard,
      schema: {
        tags,
        security: authenticated,
        summary: 'Discard a dead job: it is deleted and never run again (the audit log keeps its kind and error)',
        params: jobIdParams,
        response: { 204: z.undefined().describe('Discarded'), ...problems(...PRIVILEGED, 'validation_failed', 'job_not_found', 'job_not_dead') },
      },
    },
    async (request, reply) => {
      await service.discard(actorOf(request), request.params.id, request.ip);
      return reply.code(204).send();
    },
  );
  r.post(
    '/v1/admin/jobs/:id/retry',
    {
      preHandler: adminGuard,
      schema: {
        tags,
        security: authenticated,
        summary: 'Put a dead job back in the queue, due now, with all its attempts again',
        params: jobIdParams,
        response: { 200: jobResponse, ...problems(...PRIVILEGED, 'validation_failed', 'job_not_found', 'job_not_dead') },
      },
    },
    (request) => service.retry(actorOf(request), request.params.id, request.ip),
  );
};
