import { PostgresAdapter, sql } from 'kysely';
import type { Executor } from '../db/index.js';
import { isEventType, type EventType } from './event-types.js';

/** PostgreSQL channel on which a commit that appended events wakes every instance's followers. */
export const EVENTS_CHANNEL = 'mosis_events';

/**
 * Key of the transaction-scoped advisory lock that serializes appends on PostgreSQL. Any constant
 * works as long as nothing else in the database uses it; this one spells "mosisevt" in ASCII.
 */
export const APPEND_LOCK_KEY = BigInt('0x6d6f736973657674');

/** Largest payload accepted, as JSON text: followers hold batches of events in memory. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

export type EventPayload = Record<string, unknown>;

export interface NewEvent {
  type: EventType;
  appId?: string | null;
  actorId?: string | null;
  payload: EventPayload;
  /** From the caller's injected clock, usually the same instant as the change itself. */
  at: Date;
}

/**
 * Appends one event in the caller's transaction and returns its id. The event exists if and only
 * if that transaction commits. Call `EventLog.notify()` after the commit to wake this process's
 * followers at once (other instances are woken by the commit itself on PostgreSQL).
 *
 * On PostgreSQL, ids come from a sequence, and two transactions can commit in the other order than
 * they drew their ids: a reader that saw id 7 would then never see id 6. The advisory lock, held
 * until commit or rollback, makes appenders take ids one transaction at a time, so ids become
 * visible in id order. Append late in a transaction: the lock is held from here to its end.
 * SQLite has a single writer connection, so its appends are serial already.
 */
export async function appendEvent(executor: Executor, event: NewEvent): Promise<number> {
  if (!isEventType(event.type)) throw new TypeError(`Unknown event type ${JSON.stringify(event.type)}`);
  const payload = JSON.stringify(event.payload);
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`Payload of ${event.type} is larger than ${MAX_PAYLOAD_BYTES} bytes`);
  }
  // A lock taken outside a transaction would be released before the insert: give it one.
  if (!executor.isTransaction) return executor.transaction().execute((trx) => appendEvent(trx, event));
  const postgres = executor.getExecutor().adapter instanceof PostgresAdapter;
  if (postgres) await sql`select pg_advisory_xact_lock(${sql.raw(APPEND_LOCK_KEY.toString())})`.execute(executor);
  const row = await executor
    .insertInto('events')
    .values({ type: event.type, app_id: event.appId ?? null, actor_id: event.actorId ?? null, payload, created_at: event.at.toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow();
  // PostgreSQL delivers a NOTIFY only when the transaction commits, and once per transaction.
  if (postgres) await sql`select pg_notify(${EVENTS_CHANNEL}, '')`.execute(executor);
  return row.id;
}
