import type { Generated } from 'kysely';

/**
 * One domain event. Rows are only ever inserted, in the transaction of the change they describe.
 * No foreign keys: `app.deleted` must outlive the app it names.
 */
export interface EventsTable {
  /** Assigned by the database in commit order (see src/events/README.md); never reused. */
  id: Generated<number>;
  type: string;
  app_id: string | null;
  /** Who caused it; null for the portal itself (a job, a schedule). */
  actor_id: string | null;
  /** JSON object, written with JSON.stringify; facts a consumer needs, never a secret. */
  payload: string;
  created_at: string;
}

/** Where a durable consumer of the log (one per name, shared by every instance) has got to. */
export interface EventCursorsTable {
  consumer: string;
  /** The last event id whose effects are committed. */
  position: number;
}
