import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { authenticated, JSON_BODY, problemsOf, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { appsErrors, OWN_APP } from '../apps/index.js';
import type { ReleaseService } from './release.service.js';
import { versionsErrors } from './versions.errors.js';
import { publishBody, rolloutBody, versionParams, versionResponse, yankBody } from './versions.schemas.js';

const problems = problemsOf(versionsErrors, appsErrors);

/** Publish, rollout and yank: the `versions:publish` scope, on the owner's approved and live versions. */
export const releaseRoutes: FeatureRoutes<{ release: ReleaseService; auth: Authenticator }> = (app, { core }) => {
  const { release } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireActor(core.auth, 'versions:publish');
  const tags = ['versions'];
  const security = authenticated;
  const common = [...SIGNED_IN_WRITE, ...JSON_BODY, ...OWN_APP, 'version_not_found'] as const;

  r.post(
    '/v1/apps/:app_id/versions/:version_id/publish',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Publish an approved version on a channel',
        description: 'The version replaces (supersedes) the one live on that channel; rollout_percent of devices are offered it.',
        params: versionParams,
        body: publishBody,
        response: { 200: versionResponse, ...problems(...common, 'version_not_approved', 'version_older_than_live') },
      },
    },
    (request) => release.publish(actorOf(request), request.params.app_id, request.params.version_id, request.body),
  );

  r.patch(
    '/v1/apps/:app_id/versions/:version_id/rollout',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: "Raise or lower a live version's rollout, or halt and resume it",
        description: 'Either `{rollout_percent}` or `{halted: true|false}` (with an optional reason when halting).',
        params: versionParams,
        body: rolloutBody,
        response: { 200: versionResponse, ...problems(...common, 'version_not_live') },
      },
    },
    (request) => release.rollout(actorOf(request), request.params.app_id, request.params.version_id, request.body),
  );

  r.post(
    '/v1/apps/:app_id/versions/:version_id/yank',
    {
      preHandler: guard,
      schema: {
        tags,
        security,
        summary: 'Withdraw a published version from the store',
        params: versionParams,
        body: yankBody,
        response: { 200: versionResponse, ...problems(...common, 'version_not_published') },
      },
    },
    (request) => release.yank(actorOf(request), request.params.app_id, request.params.version_id, request.body, request.ip),
  );
};
