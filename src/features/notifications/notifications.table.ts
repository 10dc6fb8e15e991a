/** One thing a person is told in the portal (GET /v1/notifications); kept 90 days. */
export interface NotificationsTable {
  /** UUIDv7: ordering by id is ordering by creation. */
  id: string;
  user_id: string;
  /** A NotificationKind (notification-kinds.ts). */
  kind: string;
  app_id: string | null;
  /** The domain event it tells of; the list is in its order. */
  event_id: number;
  title: string;
  body: string;
  /** Where in the web UI it is about (a path under BASE_URL). */
  link: string;
  created_at: string;
  read_at: string | null;
}

/** A kind of email a person turned off (or on again); no row is the default, on. */
export interface NotificationPreferencesTable {
  user_id: string;
  kind: string;
  /** 0/1. */
  email: number;
}

/** Where an app's events are POSTed, signed. */
export interface WebhooksTable {
  id: string;
  app_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** The HMAC secret, sealed with the server key. */
  secret: string;
  /** 0/1; the portal sets 0 after three days of failures. */
  active: number;
  disabled_reason: string | null;
  failing_since: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export type DeliveryState = 'pending' | 'succeeded' | 'failed';

/** One event sent (or being sent) to one webhook: the delivery log. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: number | null;
  event_type: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  response_status: number | null;
  /** The first 1 KiB of the last answer. */
  response_body: string | null;
  duration_ms: number | null;
  error: string | null;
  redelivery_of: string | null;
  created_at: string;
  attempted_at: string | null;
}
