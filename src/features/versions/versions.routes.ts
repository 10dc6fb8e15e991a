import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { pageSchema } from '../../http/pagination.js';
import { authenticated, problemsOf, JSON_BODY, PAGED, SIGNED_IN, SIGNED_IN_WRITE, UPLOAD } from '../../http/schemas.js';
import { RAW_UPLOAD_TYPES, registerUploads, uploadStream } from '../../http/upload.js';
import { appIdParams, appsErrors, OWN_APP } from '../apps/index.js';
import { dryRunResponse, listVersionsQuery, updateVersionBody, uploadQuery, versionHistoryResponse, versionParams, versionResponse } from './versions.schemas.js';
import type { VersionsService } from './versions.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { versionsError, versionsErrors } from './versions.errors.js';

const problems = problemsOf(versionsErrors, appsErrors);

const HOW_TO_UPLOAD = `Send the package as the multipart/form-data field "package" or as a raw ${RAW_UPLOAD_TYPES.join(', ')} body.`;

export const versionsRoutes: FeatureRoutes<{ versions: VersionsService; auth: Authenticator; config: { limits: { packageBytes: number } } }> = (app, { core }) => {
  const { versions: service, auth } = core;
  const maxPackageBytes = core.config.limits.packageBytes;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['versions'];

  // The upload in a scope of its own: the only one of these routes that takes a file.
  void app.register(async (scope) => {
    await registerUploads(scope);
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/v1/apps/:app_id/versions',
      {
        preHandler: requireActor(auth, 'versions:upload'),
        schema: {
          tags,
          security: authenticated,
          summary: 'Upload a .mosis package as a new version',
          description:
            'Send the file as multipart/form-data field `package` or as a raw application/octet-stream body. ' +
            'The package is stored and answered 202 with the Version `processing`; its checks run in the background and move it to ' +
            '`pending_review` or `failed` (with its findings): read it back, or follow the event stream. ' +
            'With dry_run=true every check runs at once (200 with the result, or 422 package_invalid) and nothing is stored.',
          params: appIdParams,
          querystring: uploadQuery,
          response: { 200: dryRunResponse, 202: versionResponse, ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...OWN_APP, ...UPLOAD, 'package_missing', 'package_invalid', 'version_exists', 'uploads_in_progress', 'checks_busy') },
        },
      },
      async (request, reply) => {
        const result = await service.upload(
          actorOf(request),
          request.params.app_id,
          () => uploadStream(request, { field: 'package', maxBytes: maxPackageBytes, missing: (detail) => versionsError('package_missing', detail), how: HOW_TO_UPLOAD }),
          { dryRun: request.query.dry_run },
        );
        return reply.code('dry_run' in result ? 200 : 202).send(result);
      },
    );
  });

  r.get(
    '/v1/apps/:app_id/versions',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: { tags, security: authenticated, summary: "An app's versions, newest first", params: appIdParams, querystring: listVersionsQuery, response: { 200: pageSchema(versionResponse), ...problems(...SIGNED_IN, ...PAGED, ...OWN_APP) } },
    },
    (request) => service.list(actorOf(request), request.params.app_id, request.query),
  );

  r.get(
    '/v1/apps/:app_id/versions/:version_id',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: { tags, security: authenticated, summary: 'One version', params: versionParams, response: { 200: versionResponse, ...problems(...SIGNED_IN, 'validation_failed', ...OWN_APP, 'version_not_found') } },
    },
    (request) => service.get(actorOf(request), request.params.app_id, request.params.version_id),
  );

  r.get(
    '/v1/apps/:app_id/versions/:version_id/history',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: {
        tags,
        security: authenticated,
        summary: "A version's history: upload, checks, review, publish, rollout changes, yank",
        description: 'The domain events of the version (those the live stream and webhooks carry), oldest first, with who caused each: its developer, a reviewer or admin, or the portal itself.',
        params: versionParams,
        response: { 200: versionHistoryResponse, ...problems(...SIGNED_IN, 'validation_failed', ...OWN_APP, 'version_not_found') },
      },
    },
    (request) => service.history(actorOf(request), request.params.app_id, request.params.version_id),
  );

  r.patch(
    '/v1/apps/:app_id/versions/:version_id',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: { tags, security: authenticated, summary: "Edit a version's release notes", params: versionParams, body: updateVersionBody, response: { 200: versionResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, ...OWN_APP, 'version_not_found') } },
    },
    (request) => service.updateReleaseNotes(actorOf(request), request.params.app_id, request.params.version_id, request.body.release_notes),
  );
};
