import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { pageQuery, pageSchema } from '../../http/pagination.js';
import { authenticated, JSON_BODY, PAGED, problemsOf, SIGNED_IN, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { appIdParams, appsErrors, OWN_APP } from '../apps/index.js';
import { webhooksErrors } from './webhooks.errors.js';
import {
  createdWebhookResponse,
  createWebhookBody,
  deliveryParams,
  deliveryResponse,
  listDeliveriesQuery,
  updateWebhookBody,
  webhookParams,
  webhookResponse,
} from './webhooks.schemas.js';
import type { WebhooksService } from './webhooks.service.js';

const problems = problemsOf(webhooksErrors, appsErrors);

/** An app's webhooks: its owner's, read with `apps:read`, changed and replayed with `apps:write`. */
export const webhooksRoutes: FeatureRoutes<{ webhooks: WebhooksService; auth: Authenticator }> = (app, { core }) => {
  const { webhooks: service, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireActor(auth, 'apps:read');
  const write = requireActor(auth, 'apps:write');
  const tags = ['webhooks'];
  const security = authenticated;
  const ownWebhook = [...OWN_APP, 'webhook_not_found'] as const;

  r.get(
    '/v1/apps/:app_id/webhooks',
    { preHandler: read, schema: { tags, security, summary: "The app's webhooks (never their secrets)", params: appIdParams, querystring: pageQuery, response: { 200: pageSchema(webhookResponse), ...problems(...SIGNED_IN, ...PAGED, ...OWN_APP) } } },
    (request) => service.list(actorOf(request), request.params.app_id, request.query),
  );

  r.post(
    '/v1/apps/:app_id/webhooks',
    {
      preHandler: write,
      schema: {
        tags,
        security,
        summary: 'Add a webhook (its signing secret is shown once)',
        description: 'Deliveries are signed with HMAC-SHA256 over `<timestamp>.<body>` (docs/webhooks.md). At most 20 per app.',
        params: appIdParams,
        body: createWebhookBody,
        response: { 201: createdWebhookResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, ...OWN_APP, 'webhook_url_invalid', 'webhook_limit_reached') },
      },
    },
    async (request, reply) => reply.code(201).send(await service.create(actorOf(request), request.params.app_id, request.body, request.ip)),
  );

  r.patch(
    '/v1/apps/:app_id/webhooks/:webhook_id',
    {
      preHandler: write,
      schema: { tags, security, summary: "Change a webhook's URL, events or whether it is active", params: webhookParams, body: updateWebhookBody, response: { 200: webhookResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, ...ownWebhook, 'webhook_url_invalid') } },
    },
    (request) => service.update(actorOf(request), request.params.app_id, request.params.webhook_id, request.body, request.ip),
  );

  r.delete(
    '/v1/apps/:app_id/webhooks/:webhook_id',
    { preHandler: write, schema: { tags, security, summary: 'Delete a webhook and its delivery log', params: webhookParams, response: { 204: z.undefined().describe('Deleted'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...ownWebhook) } } },
    async (request, reply) => {
      await service.delete(actorOf(request), request.params.app_id, request.params.webhook_id, request.ip);
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/apps/:app_id/webhooks/:webhook_id/rotate-secret',
    { preHandler: write, schema: { tags, security, summary: 'Replace the signing secret (the new one is shown once)', params: webhookParams, response: { 200: createdWebhookResponse, ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...ownWebhook) } } },
    (request) => service.rotateSecret(actorOf(request), request.params.app_id, request.params.webhook_id, request.ip),
  );

  r.get(
    '/v1/apps/:app_id/webhooks/:webhook_id/deliveries',
    {
      preHandler: read,
      schema: { tags, security, summary: 'The delivery log, newest first', params: webhookParams, querystring: listDeliveriesQuery, response: { 200: pageSchema(deliveryResponse), ...problems(...SIGNED_IN, ...PAGED, ...ownWebhook) } },
    },
    (request) => service.deliveries(actorOf(request), request.params.app_id, request.params.webhook_id, request.query),
  );

  r.post(
    '/v1/apps/:app_id/webhooks/:webhook_id/deliveries/:delivery_id/redeliver',
    {
      preHandler: write,
      schema: {
        tags,
        security,
        summary: 'Send a delivery again',
        description: 'A new delivery (its own mosis-webhook-id, `redelivery_of` naming the original) with the same body, retried like any other.',
        params: deliveryParams,
        response: { 202: deliveryResponse, ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...ownWebhook, 'webhook_delivery_not_found', 'webhook_inactive', 'webhook_backlog_full') },
      },
    },
    async (request, reply) => reply.code(202).send(await service.redeliver(actorOf(request), request.params.app_id, request.params.webhook_id, request.params.delivery_id)),
  );

  r.post(
    '/v1/apps/:app_id/webhooks/:webhook_id/ping',
    {
      preHandler: write,
      schema: { tags, security, summary: 'Send a `ping` event to the webhook', params: webhookParams, response: { 202: deliveryResponse, ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...ownWebhook, 'webhook_inactive', 'webhook_backlog_full') } },
    },
    async (request, reply) => reply.code(202).send(await service.ping(actorOf(request), request.params.app_id, request.params.webhook_id)),
  );
};
