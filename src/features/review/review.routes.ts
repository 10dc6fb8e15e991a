import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireRole, type Authenticator, type RoleCheck } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, JSON_BODY, PAGED, PRIVILEGED, problemsOf } from '../../http/schemas.js';
import { reviewErrors } from './review.errors.js';
import { claimResponse, decisionBody, decisionResponse, queueItemResponse, queueQuery, reviewDetailResponse, reviewParams } from './review.schemas.js';
import { REVIEWER_ROLES, type ReviewService } from './review.service.js';

const problems = problemsOf(reviewErrors);

/** /v1/review: the reviewer queue, for reviewers and admins signed in as themselves (2FA rule applies). */
export const reviewRoutes: FeatureRoutes<{ review: ReviewService; auth: Authenticator; admin: RoleCheck }> = (app, { core }) => {
  const { review } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireRole(core.auth, core.admin, REVIEWER_ROLES);
  const tags = ['review'];
  const security = authenticated;

  r.get(
    '/v1/review/queue',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Versions waiting for review, oldest first',
        querystring: queueQuery,
        response: { 200: pageSchema(queueItemResponse), ...problems(...PRIVILEGED, ...PAGED) },
      },
    },
    (request) => review.queue(actorOf(request), request.query),
  );

  r.get(
    '/v1/review/:version_id',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Everything about a version in review',
        description: 'Manifest, files with sizes, findings by tier, permission changes against the last published version with their risk, release notes, earlier decisions on the app, and where to download the package.',
        params: reviewParams,
        response: { 200: reviewDetailResponse, ...problems(...PRIVILEGED, 'validation_failed', 'review_item_not_found') },
      },
    },
    (request) => review.detail(actorOf(request), request.params.version_id),
  );

  r.get(
    '/v1/review/:version_id/package',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'The package of a version in review',
        params: reviewParams,
        response: { 200: z.unknown().meta({ description: 'The .mosis file' }), ...problems(...PRIVILEGED, 'validation_failed', 'review_item_not_found') },
      },
    },
    async (request, reply) => {
      const file = await review.package(actorOf(request), request.params.version_id);
      return reply
        .header('content-type', 'application/zip')
        .header('content-length', file.size)
        .header('etag', `"${file.sha256}"`)
        .header('cache-control', 'private, no-store')
        // The name is built from a validated package id and a number: nothing to escape.
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .send(await file.open());
    },
  );

  r.post(
    '/v1/review/:version_id/claim',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Claim a waiting version (or renew your claim)',
        description: 'The version is yours to decide on until expires_at; nobody else may decide on it meanwhile. A decision releases it.',
        params: reviewParams,
        response: { 200: claimResponse, ...problems(...PRIVILEGED, 'validation_failed', 'review_item_not_found', 'review_own_app', 'review_not_pending', 'review_claimed') },
      },
    },
    (request) => review.claim(actorOf(request), request.params.version_id),
  );

  r.delete(
    '/v1/review/:version_id/claim',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Give your claim up',
        params: reviewParams,
        response: { 204: z.undefined(), ...problems(...PRIVILEGED, 'validation_failed', 'review_item_not_found', 'review_not_pending', 'review_claimed') },
      },
    },
    async (request, reply) => {
      await review.release(actorOf(request), request.params.version_id);
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/review/:version_id/decision',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Approve or reject a version',
        description: 'A rejection needs notes (shown to the developer). Approval signs the version with the store key. Nobody decides on an app they own.',
        params: reviewParams,
        body: decisionBody,
        response: {
          200: decisionResponse,
          ...problems(...PRIVILEGED, ...JSON_BODY, 'review_item_not_found', 'review_own_app', 'review_not_pending', 'review_claimed', 'review_notes_required'),
        },
      },
    },
    (request) => review.decide(actorOf(request), request.params.version_id, request.body, request.ip),
  );
};
