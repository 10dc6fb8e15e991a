import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../../events/index.js';
import { pageQuery } from '../../http/pagination.js';

/**
 * The domain events a webhook may subscribe to: those about one app. Not `notification.created`
 * (a person's inbox, not the app's), nor `app.created` and `app.deleted`: no webhook exists
 * before its app, and an app's webhooks are deleted with it, so neither could ever be delivered.
 */
export const WEBHOOK_EVENT_TYPES = EVENT_TYPES.filter((t) => t !== 'notification.created' && t !== 'app.created' && t !== 'app.deleted') as readonly EventType[];

/** Subscribes to every event type above, including ones added later. */
export const ALL_EVENTS = '*';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const webhookEvents = z
  .array(z.enum([ALL_EVENTS, ...WEBHOOK_EVENT_TYPES] as [string, ...string[]]))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length + 1)
  .refine((events) => !events.includes(ALL_EVENTS) || events.length === 1, { message: '"*" (every event) stands alone' })
  .describe(`Event types to deliver, or ["*"] for all of them: ${WEBHOOK_EVENT_TYPES.join(', ')}`);

const webhookUrl = z.string().trim().min(1).max(MAX_WEBHOOK_URL_LENGTH).describe('An absolute https URL (http only where the operator allows it), without user:password@ or #fragment');

export const webhookParams = z.object({ app_id: z.string().min(1).max(64), webhook_id: z.string().min(1).max(64) });
export const deliveryParams = webhookParams.extend({ delivery_id: z.string().min(1).max(64) });

export const createWebhookBody = z
  .object({
    url: webhookUrl,
    events: webhookEvents,
    active: z.boolean().default(true),
  })
  .strict();

export const updateWebhookBody = z
  .object({
    url: webhookUrl.optional(),
    events: webhookEvents.optional(),
    active: z.boolean().optional().describe('true re-activates a webhook the portal disabled, clearing disabled_reason and failing_since'),
  })
  .strict()
  .refine((b) => b.url !== undefined || b.events !== undefined || b.active !== undefined, { message: 'give url, events or active' });

export const listDeliveriesQuery = pageQuery;

export const webhookResponse = z
  .object({
    id: z.string(),
    app_id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    active: z.boolean(),
    disabled_reason: z.string().nullable().describe('Why the portal turned the webhook off (after three days of failed deliveries)'),
    failing_since: z.string().nullable().describe('Since when every delivery failed; null once one succeeds'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Webhook' });

export const createdWebhookResponse = webhookResponse
  .extend({ secret: z.string().describe('The signing secret (whsec_…); shown only in this answer') })
  .meta({ id: 'CreatedWebhook' });

export const deliveryResponse = z
  .object({
    id: z.string().describe('Also the mosis-webhook-id header of its requests'),
    webhook_id: z.string(),
    event_id: z.number().int().nullable().describe('The domain event delivered; null for a ping'),
    event_type: z.string(),
    state: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    response_status: z.number().int().nullable(),
    duration_ms: z.number().int().nullable(),
    response_body: z.string().nullable().describe('The first 1 KiB of the last answer'),
    error: z.string().nullable(),
    created_at: z.string(),
    attempted_at: z.string().nullable(),
    redelivery_of: z.string().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export type CreateWebhookInput = z.infer<typeof createWebhookBody>;
export type UpdateWebhookInput = z.infer<typeof updateWebhookBody>;
export type WebhookResponse = z.infer<typeof webhookResponse>;
export type CreatedWebhookResponse = z.infer<typeof createdWebhookResponse>;
export type DeliveryResponse = z.infer<typeof deliveryResponse>;
