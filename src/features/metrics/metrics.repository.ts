import { stat } from 'node:fs/promises';
import { sql } from 'kysely';
import type { DatabaseConfig } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { telemetryFile } from '../../db/telemetry.js';
import { latestEventId } from '../../events/index.js';

/** The states of the job queue a scrape counts (`done` rows are history, pruned after a week). */
export const COUNTED_JOB_STATES = ['queued', 'running', 'dead'] as const;
export type CountedJobState = (typeof COUNTED_JOB_STATES)[number];

export interface JobCounts {
  kind: string;
  state: CountedJobState;
  count: number;
  /** run_at of the oldest queued job that is due (ISO), null when none is. */
  oldestDue: string | null;
}

/**
 * Jobs by kind and state in one grouped query, and the oldest due queued job of each kind. It
 * reads only the live states through the `jobs_by_state` index: done rows, the bulk of the table,
 * are never touched.
 */
export async function jobCounts(db: Db, now: string): Promise<JobCounts[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['kind', 'state'])
    .select((eb) => eb.fn.countAll().as('count'))
    .select(sql<string | null>`min(case when state = 'queued' and run_at <= ${now} then run_at end)`.as('oldest_due'))
    .where('state', 'in', [...COUNTED_JOB_STATES])
    .groupBy(['kind', 'state'])
    .execute();
  return rows.map((r) => ({ kind: r.kind, state: r.state as CountedJobState, count: Number(r.count), oldestDue: r.oldest_due }));
}

export interface ConsumerPositions {
  /** The newest event's id (0 when the log is empty). */
  head: number;
  /** Each durable consumer's position (`event_cursors`): the last event it handled. */
  consumers: { consumer: string; position: number }[];
}

/** The event log's head and where each durable consumer stands: a primary-key max and a tiny table. */
export async function consumerPositions(db: Db): Promise<ConsumerPositions> {
  const [head, rows] = await Promise.all([latestEventId(db), db.selectFrom('event_cursors').select(['consumer', 'position']).orderBy('consumer').execute()]);
  return { head, consumers: rows.map((r) => ({ consumer: r.consumer, position: Number(r.position) })) };
}

export interface DatabaseFileSize {
  /** `portal` or `telemetry` (SQLite keeps telemetry in its own file; PostgreSQL in the same database). */
  database: 'portal' | 'telemetry';
  /** `main` (the database file; on PostgreSQL the whole database) or `wal` (SQLite's write-ahead log). */
  file: 'main' | 'wal';
  bytes: number;
}

/**
 * The database's size on disk: on SQLite the portal's and telemetry's files and their write-ahead
 * logs (a stat each; a file not there yet is left out), on PostgreSQL `pg_database_size`.
 */
export async function databaseSizes(db: Db, config: DatabaseConfig): Promise<DatabaseFileSize[]> {
  if (config.dialect === 'postgres') {
    const { rows } = await sql<{ bytes: string | number }>`select pg_database_size(current_database()) as bytes`.execute(db);
    return [{ database: 'portal', file: 'main', bytes: Number(rows[0]?.bytes ?? 0) }];
  }
  const files: [DatabaseFileSize['database'], DatabaseFileSize['file'], string][] = [];
  for (const [database, file] of [
    ['portal', config.file],
    ['telemetry', telemetryFile(config)],
  ] as const) {
    files.push([database, 'main', file], [database, 'wal', `${file}-wal`]);
  }
  const sizes = await Promise.all(
    files.map(async ([database, file, name]): Promise<DatabaseFileSize | null> => {
      try {
        return { database, file, bytes: (await stat(name)).size };
      } catch {
        return null;
      }
    }),
  );
  return sizes.filter((s): s is DatabaseFileSize => s !== null);
}
