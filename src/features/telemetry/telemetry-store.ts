import { PostgresAdapter, sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { TelemetryConnection, TelemetryDatabase, TelemetryDb } from '../../db/telemetry.js';
import { applySummary, dayOf, forgetSeenBefore, rolledUpTo, type ChunkSummary } from './rollup.js';
import { telemetryKey } from './telemetry-keys.js';
import type { CrashGroupStatus } from './telemetry.table.js';

/**
 * An accepted event as the writer stores it (received_* are stamped by the writer). An array, not
 * an object: it crosses to the writer thread by structured clone, which copies no property names
 * for an array (measured: a fifth of the main thread's cost of an accepted batch was that copy).
 */
export type EventRow = [app_id: string, version_code: number, device_key: number, session_key: number, type: string, at_ms: number, value: number | null, data: string];

/** An accepted crash report with its group, worked out before it reaches the writer. */
export interface CrashRow {
  app_id: string;
  version_code: number;
  version: string;
  device_hash: string;
  at_ms: number;
  group_id: string;
  signature: string;
  title: string;
  crash_type: string;
  frames: string;
  /** JSON of the report's crash object. */
  crash: string;
  /** JSON of the group's sample (the latest crash). */
  sample: string;
}

const DAY_MS = 86_400_000;
/** SQLite page caches (negative: KiB): the writer's own (db/telemetry.ts), and while a backlog is rolled up. */
const WRITER_CACHE_KIB = -16384;
const BACKLOG_CACHE_KIB = -65536;
/** Rows per multi-row insert: eleven columns each, far below SQLite's and PostgreSQL's parameter limits. */
const ROWS_PER_INSERT = 500;
/** Rows deleted per transaction by retention and erasure, so appends never wait long behind them. */
const DELETE_CHUNK = 5_000;

/**
 * The telemetry database's writes, all made by the writer thread (telemetry-thread.ts): appends of
 * whole batches in one transaction, retention, a device's erasure and crash group status.
 */
export class TelemetryStore {
  private readonly db: TelemetryDb;
  private readonly postgres: boolean;
  /** Day partitions known to exist (PostgreSQL). */
  private readonly partitions = new Set<string>();
  /**
   * The writer's work one piece at a time, first come first served: an append never lands inside
   * a rollup chunk's transaction (on SQLite both use the one connection), and long work (rollup,
   * retention, erasure) takes it a chunk at a time so appends get their turn between chunks.
   */
  private tail: Promise<unknown> = Promise.resolve();
  /** SQLite: the page cache is the backlog's (applyRollup) until the backlog's last chunk. */
  private backlogCache = false;
  /** SQLite: the events' insert, prepared once and run a row at a time in one transaction. */
  private readonly appendEvents: ((receivedDay: string, receivedMs: number, events: readonly EventRow[]) => void) | null;

  constructor(private readonly conn: TelemetryConnection) {
    this.db = conn.db;
    this.postgres = conn.db.getExecutor().adapter instanceof PostgresAdapter;
    const sqlite = conn.sqlite;
    if (sqlite === null) this.appendEvents = null;
    else {
      const insert = sqlite.prepare(`insert into telemetry_events (received_day, received_ms, app_id, version_code, device_key, session_key, type, at_ms, value, data)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      this.appendEvents = sqlite.transaction((receivedDay: string, receivedMs: number, events: readonly EventRow[]) => {
        for (const e of events) insert.run(receivedDay, receivedMs, ...e);
      });
    }
  }

  /**
   * Adds a chunk the rollup thread summed up, in its turn between appends. On SQLite without a
   * flush of its own (synchronous NORMAL for its commit): the next append's commit flushes it
   * with the events, and a power cut before that rolls the chunk and its position back together,
   * for the next run to redo. A backlog (nobody sending) gets a larger page cache for
   * telemetry_seen, given back with the run's last chunk (measured: 10 million events, 16 MiB of
   * cache against 64).
   */
  applyRollup(summary: ChunkSummary): Promise<boolean> {
    const sqlite = this.conn.sqlite;
    return this.exclusive(async () => {
      if (sqlite === null) return applySummary(this.conn, summary);
      if (!summary.busy && !this.backlogCache) {
        sqlite.pragma(`cache_size = ${BACKLOG_CACHE_KIB}`);
        this.backlogCache = true;
      }
      sqlite.pragma('synchronous = NORMAL');
      let failed = true;
      try {
        const applied = await applySummary(this.conn, summary);
        failed = false;
        return applied;
      } finally {
        // Appends are acknowledged as durable: never leave them a transaction or a sync mode of this one.
        if (sqlite.inTransaction) sqlite.exec('rollback');
        sqlite.pragma('synchronous = FULL');
        if (this.backlogCache && (failed || summary.busy || !summary.more)) {
          sqlite.pragma(`cache_size = ${WRITER_CACHE_KIB}`);
          sqlite.pragma('shrink_memory');
          this.backlogCache = false;
        }
      }
    });
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Writes the events in one transaction: on SQLite the commit is on disk (FULL sync) when this
   * returns, so the caller may answer 202.
   */
  appendEventRows(now: number, events: readonly EventRow[]): Promise<void> {
    const received_day = dayOf(now);
    const append = this.appendEvents;
    if (append) return this.exclusive(() => Promise.resolve(append(received_day, now, events)));
    return this.exclusive(async () => {
      await this.ensurePartition(received_day);
      await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
        await trx
          .insertInto('telemetry_events')
          .values(
              events
                .slice(i, i + ROWS_PER_INSERT)
                .map(([app_id, version_code, device_key, session_key, type, at_ms, value, data]) => ({ app_id, version_code, device_key, session_key, type, at_ms, value, data, received_day, received_ms: now })),
            )
          .execute();
      }
      });
    });
  }

  /** Files crash reports into their groups, in one transaction. */
  appendCrashes(now: number, crashes: readonly CrashRow[]): Promise<void> {
    const received_day = dayOf(now);
    return this.exclusive(() => this.db.transaction().execute(async (trx) => {
      for (const crash of crashes) {
        const at = new Date(crash.at_ms).toISOString();
        const updatedAt = new Date(now).toISOString();
        // One statement per group whether it exists or not; reopened when a newer version crashes
        // after it was resolved (an ignored group stays ignored).
        await trx
          .insertInto('telemetry_crash_groups')
          .values({
            id: crash.group_id,
            app_id: crash.app_id,
            signature: crash.signature,
            title: crash.title,
            crash_type: crash.crash_type,
            frames: crash.frames,
            status: 'open',
            resolved_version_code: null,
            crashes: 1,
            devices: 0,
            first_seen: at,
            last_seen: at,
            sample: crash.sample,
            updated_at: updatedAt,
          })
          .onConflict((oc) =>
            oc.columns(['app_id', 'signature']).doUpdateSet((eb) => ({
              crashes: eb('telemetry_crash_groups.crashes', '+', 1),
              first_seen: sql<string>`case when excluded.first_seen < telemetry_crash_groups.first_seen then excluded.first_seen else telemetry_crash_groups.first_seen end`,
              last_seen: sql<string>`case when excluded.last_seen > telemetry_crash_groups.last_seen then excluded.last_seen else telemetry_crash_groups.last_seen end`,
              sample: sql<string>`case when excluded.last_seen >= telemetry_crash_groups.last_seen then excluded.sample else telemetry_crash_groups.sample end`,
              status: sql<CrashGroupStatus>`case when telemetry_crash_groups.status = 'resolved' and ${crash.version_code} > coalesce(telemetry_crash_groups.resolved_version_code, 0) then 'open' else telemetry_crash_groups.status end`,
              resolved_version_code: sql<number | null>`case when telemetry_crash_groups.status = 'resolved' and ${crash.version_code} > coalesce(telemetry_crash_groups.resolved_version_code, 0) then null else telemetry_crash_groups.resolved_version_code end`,
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
        await trx
          .insertInto('telemetry_crash_versions')
          .values({ group_id: crash.group_id, version_code: crash.version_code, version: crash.version, crashes: 1, first_seen: at, last_seen: at })
          .onConflict((oc) =>
            oc.columns(['group_id', 'version_code']).doUpdateSet((eb) => ({
              crashes: eb('telemetry_crash_versions.crashes', '+', 1),
              first_seen: sql<string>`case when excluded.first_seen < telemetry_crash_versions.first_seen then excluded.first_seen else telemetry_crash_versions.first_seen end`,
              last_seen: sql<string>`case when excluded.last_seen > telemetry_crash_versions.last_seen then excluded.last_seen else telemetry_crash_versions.last_seen end`,
            })),
          )
          .execute();
        const newDevice = await trx
          .insertInto('telemetry_crash_devices')
          .values({ group_id: crash.group_id, device_hash: crash.device_hash })
          .onConflict((oc) => oc.doNothing())
          .returning('group_id')
          .execute();
        if (newDevice.length > 0) await trx.updateTable('telemetry_crash_groups').set((eb) => ({ devices: eb('devices', '+', 1) })).where('id', '=', crash.group_id).execute();
        await trx
          .insertInto('telemetry_crash_reports')
          .values({ received_day, received_ms: now, app_id: crash.app_id, version_code: crash.version_code, device_hash: crash.device_hash, group_id: crash.group_id, at_ms: crash.at_ms, crash: crash.crash })
          .execute();
      }
    }));
  }

  /**
   * Drops raw events and crash reports that arrived more than `days` days ago, and what the rollup
   * remembered of their buckets; never an event the rollup has not counted yet. Aggregates and
   * crash groups stay.
   */
  async prune(now: number, days: number): Promise<{ events: number; reports: number }> {
    const before = dayOf(now - days * DAY_MS);
    const position = await rolledUpTo(this.db);
    let events = 0;
    if (this.postgres) {
      for (const partition of await this.partitionsBefore(before)) {
        // A partition the rollup has not finished stays until it has.
        const { rows } = await sql<{ waiting: number; n: number }>`select count(*) filter (where received_ms > ${position.ms} or (received_ms = ${position.ms} and id > ${position.id}))::int as waiting, count(*)::int as n from ${sql.table(partition.name)}`.execute(this.db);
        if ((rows[0]?.waiting ?? 0) > 0) continue;
        events += rows[0]?.n ?? 0;
        await this.exclusive(() => sql`drop table if exists ${sql.table(partition.name)}`.execute(this.db));
        this.partitions.delete(partition.day);
      }
    } else {
      events = await this.deleteInChunks('telemetry_events', (eb) => eb.and([eb('received_day', '<', before), eb('id', '<=', position.id)]));
    }
    const reports = await this.deleteInChunks('telemetry_crash_reports', (eb) => eb('received_day', '<', before));
    await this.exclusive(() => forgetSeenBefore(this.db, before));
    return { events, reports };
  }

  /** Erases a device's raw events, crash reports and crash group memberships (the counts stay). */
  async forgetDevice(deviceHash: string): Promise<void> {
    await this.deleteInChunks('telemetry_events', (eb) => eb('device_key', '=', telemetryKey(deviceHash)));
    await this.deleteInChunks('telemetry_crash_reports', (eb) => eb('device_hash', '=', deviceHash));
    await this.exclusive(() => this.db.deleteFrom('telemetry_crash_devices').where('device_hash', '=', deviceHash).execute());
  }

  /** Sets a crash group's status; resolving remembers the newest version that had crashed. */
  async setCrashStatus(appId: string, groupId: string, status: CrashGroupStatus, at: number): Promise<boolean> {
    return this.exclusive(() => this.db.transaction().execute(async (trx) => {
      const newest = await trx.selectFrom('telemetry_crash_versions').select((eb) => eb.fn.max('version_code').as('v')).where('group_id', '=', groupId).executeTakeFirst();
      const result = await trx
        .updateTable('telemetry_crash_groups')
        .set({ status, resolved_version_code: status === 'resolved' ? Number(newest?.v ?? 0) : null, updated_at: new Date(at).toISOString() })
        .where('id', '=', groupId)
        .where('app_id', '=', appId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    }));
  }

  private async deleteInChunks<T extends 'telemetry_events' | 'telemetry_crash_reports'>(
    table: T,
    where: (eb: ExpressionBuilder<TelemetryDatabase, T>) => Expression<SqlBool>,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = this.db.selectFrom(table as 'telemetry_events').select('id').where(where as unknown as (eb: ExpressionBuilder<TelemetryDatabase, 'telemetry_events'>) => Expression<SqlBool>).limit(DELETE_CHUNK);
      const result = await this.exclusive(() => this.db.deleteFrom(table as 'telemetry_events').where('id', 'in', ids).executeTakeFirst());
      const n = Number(result.numDeletedRows);
      total += n;
      if (n < DELETE_CHUNK) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The day's partition of telemetry_events (PostgreSQL), made the first time a day is written. */
  private async ensurePartition(day: string): Promise<void> {
    if (this.partitions.has(day)) return;
    const next = dayOf(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
    const name = `telemetry_events_${day.replaceAll('-', '')}`;
    try {
      await sql`create table if not exists ${sql.table(name)} partition of telemetry_events for values from (${sql.lit(day)}) to (${sql.lit(next)})`.execute(this.db);
    } catch (err) {
      // Another instance made it at the same moment.
      const code = (err as { code?: string }).code;
      if (code !== '42P07' && code !== '23505') throw err;
    }
    this.partitions.add(day);
  }

  private async partitionsBefore(day: string): Promise<{ name: string; day: string }[]> {
    const { rows } = await sql<{ name: string }>`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'telemetry_events' and p.relnamespace = current_schema()::regnamespace`.execute(this.db);
    return rows
      .map((r) => {
        const m = /^telemetry_events_(\d{4})(\d{2})(\d{2})$/.exec(r.name);
        const d = m ? `${m[1]}-${m[2]}-${m[3]}` : null;
        return d === null ? null : { name: r.name, day: d };
      })
      .filter((p): p is { name: string; day: string } => p !== null && p.day < day);
  }
}
