import type { Selectable } from 'kysely';
import type { Executor } from '../db/index.js';
import type { EventPayload } from './append.js';
import type { EventType } from './event-types.js';
import type { EventsTable } from './events.table.js';

/** An event as followers receive it. Ids increase but are not contiguous (rolled-back appends). */
export interface DomainEvent {
  id: number;
  /** A type this version may not know yet when instances of two versions share a database. */
  type: EventType;
  appId: string | null;
  actorId: string | null;
  payload: EventPayload;
  createdAt: string;
}

/** Most events one read returns, whatever the caller asks for. */
export const MAX_READ_BATCH = 1000;

/** Up to `limit` events with an id above `afterId`, oldest first. */
export async function readEventsAfter(db: Executor, afterId: number, limit: number): Promise<DomainEvent[]> {
  const rows = await db
    .selectFrom('events')
    .selectAll()
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(Math.min(Math.max(1, Math.trunc(limit)), MAX_READ_BATCH))
    .execute();
  return rows.map(toEvent);
}

/** Id of the newest committed event, 0 when there is none: where a follower "from now" starts. */
export async function latestEventId(db: Executor): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  return row?.id == null ? 0 : Number(row.id);
}

function toEvent(row: Selectable<EventsTable>): DomainEvent {
  return {
    id: Number(row.id),
    type: row.type as EventType,
    appId: row.app_id,
    actorId: row.actor_id,
    payload: JSON.parse(row.payload) as EventPayload,
    createdAt: row.created_at,
  };
}
