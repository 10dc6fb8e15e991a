/**
 * The event types a webhook may subscribe to (the API's enum: a type added there fails the type
 * check here until it is described), and how a webhook's state reads.
 */
import type { paths } from '@mosis/api-client';
import type { Webhook } from './types';

type CreateBody = NonNullable<paths['/v1/apps/{app_id}/webhooks']['post']['requestBody']>['content']['application/json'];
export type WebhookEvent = CreateBody['events'][number];
export type WebhookEventType = Exclude<WebhookEvent, '*'>;
export const ALL_EVENTS = '*';

export const WEBHOOK_EVENTS: Record<WebhookEventType, string> = {
  'version.submitted': 'A version was uploaded',
  'version.checked': 'Its automated checks finished (passed or failed)',
  'version.approved': 'A reviewer approved a version',
  'version.rejected': 'A reviewer rejected a version',
  'version.published': 'A version was published',
  'version.rollout_changed': 'A rollout was raised, halted or resumed',
  'version.yanked': 'A version was yanked from the store',
  'version.notes_changed': "A version's release notes changed",
  'listing.changed': 'The store listing, icon or screenshots changed',
  'webhook.disabled': 'The portal turned this webhook off after it kept failing',
};

export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as WebhookEventType[];

export function eventsSummary(events: readonly string[]): string {
  if (events.includes(ALL_EVENTS)) return 'Every event';
  return events.length === 1 ? (events[0] ?? '') : `${events.length} events`;
}

export interface WebhookState {
  label: string;
  tone: 'success' | 'warning' | 'danger' | 'neutral';
}

/** Off by the portal (failing for days), off by its owner, failing, or delivering. */
export function webhookState(webhook: Webhook): WebhookState {
  if (!webhook.active) return webhook.disabled_reason ? { label: 'Disabled by the portal', tone: 'danger' } : { label: 'Off', tone: 'neutral' };
  if (webhook.failing_since) return { label: 'Failing', tone: 'warning' };
  return { label: 'Active', tone: 'success' };
}

/** The host of a webhook's URL, for headings ("ci.example.com"); the URL itself when it does not parse. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
