/**
 * Every kind of domain event, declared once. A consumer switches on these names; a name is part
 * of the contract with webhooks and the live stream, so it is only ever added, never renamed.
 */
export const EVENT_TYPES = [
  'app.created',
  'app.deleted',
  'listing.changed',
  'version.submitted',
  'version.checked',
  'version.approved',
  'version.rejected',
  'version.published',
  'version.yanked',
  'version.rollout_changed',
  'version.notes_changed',
  /** The portal turned a webhook off after three days of failed deliveries (payload: webhook_id, url). */
  'webhook.disabled',
  /** A person got an in-app notification (payload: notification_id, user_id, kind, title, link); the live stream's. */
  'notification.created',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const known: ReadonlySet<string> = new Set(EVENT_TYPES);

export function isEventType(value: string): value is EventType {
  return known.has(value);
}
