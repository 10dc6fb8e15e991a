import { createHash } from 'node:crypto';
import type SQLite from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { TelemetryConnection, TelemetryDatabase, TelemetryDb } from '../../db/telemetry.js';
import { DistinctSketch, QuantileSketch } from './sketches.js';
import type { TelemetryRollupsTable } from './telemetry.table.js';

/**
 * Events read and added to the aggregates per transaction. A backlog with nobody sending goes
 * fastest in large chunks (each chunk rewrites every bucket row it touches); while devices send,
 * the writer's commits wait for each chunk's write transaction, so chunks stay small.
 */
const CHUNK = 100_000;
const CHUNK_WHILE_BUSY = 10_000;
/**
 * Devices and sessions a chunk may mark in telemetry_seen while devices send (each a B-tree
 * insert in the write transaction, a few microseconds): a chunk with more is cut short.
 */
const MAX_KEYS_WHILE_BUSY = 2_000;
/** The same with nobody sending (a backlog): a device that starts sending waits for one chunk at most. */
const MAX_KEYS = 200_000;
const DAY_MS = 86_400_000;
/** Rows per multi-row statement (five parameters each for telemetry_seen: far below either limit). */
const ROWS_PER_STATEMENT = 500;
/** version_code of the rows that count every version of an app together. */
export const ALL_VERSIONS = 0;

/** The connection (the rollup thread's reads) or a transaction (the writer's chunk). */
type Executor = Kysely<TelemetryDatabase> | Transaction<TelemetryDatabase>;

/**
 * An event as the rollup reads it: a row as an array (better-sqlite3's raw mode), which reads
 * about twice as fast as an object per row and leaves the collector less to do.
 */
type RawEvent = [id: number, received_ms: number, app_id: string, version_code: number, device_key: number, session_key: number, type: string, at_ms: number, value: number | null];
const ID = 0;
const RECEIVED_MS = 1;
const APP_ID = 2;
const VERSION_CODE = 3;
const DEVICE = 4;
const SESSION = 5;
const TYPE = 6;
const AT_MS = 7;
const VALUE = 8;

/** What a chunk adds to one bucket of one app and version. */
interface Delta {
  app_id: string;
  version_code: number;
  granularity: 'hour' | 'day';
  bucket: string;
  events: number;
  starts: number;
  crashes: number;
  lua_errors: number;
  screen_views: number;
  button_clicks: number;
  features_used: number;
  session_stops: number;
  session_ms: number;
  devices: Set<number>;
  sessions: Set<number>;
  crashed: Set<number>;
  frame: QuantileSketch;
  memory: QuantileSketch;
  startup: QuantileSketch;
}

const HOUR_MS = 3_600_000;
/** Hour names already made: a chunk's events fall in a few hours, and toISOString is not free. */
const hourNames = new Map<number, string>();

/** `YYYY-MM-DDTHH` of an instant (UTC). */
export function hourOf(ms: number): string {
  const hour = Math.floor(ms / HOUR_MS);
  let name = hourNames.get(hour);
  if (name === undefined) {
    if (hourNames.size >= 10_000) hourNames.clear();
    name = new Date(hour * HOUR_MS).toISOString().slice(0, 13);
    hourNames.set(hour, name);
  }
  return name;
}

/** `YYYY-MM-DD` of an instant (UTC). */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Where the rollup stands: every event before this position (in arrival order) is in the aggregates. */
interface Position {
  ms: number;
  id: number;
}

/**
 * The rollup: the events that arrived since the last run are added to the hourly and daily
 * aggregates a chunk at a time, each chunk's transaction moving the stored position with it: a
 * crash mid-run loses nothing and counts nothing twice.
 *
 * Incremental, not recomputed: at 50 000 events a second an hour holds 180 million events, too many
 * to read again every minute. Counts and sums add; the percentile sketches and the day's
 * HyperLogLog merge; distinct devices and sessions stay exact through telemetry_seen, which
 * remembers what each bucket has already counted.
 *
 * Two steps a chunk, in two threads, so the writer's appends wait for as little as possible:
 * `summarize` (the rollup thread, rollup-thread.ts, on a read-only connection) reads the chunk's
 * events and merges their sums into the stored rows; `applySummary` (the writer thread, between
 * appends) marks the devices and sessions it saw, counts what is new and writes the rows and the
 * position in one short transaction. One writer on SQLite: the two never wait for each other's
 * locks. A stored row cannot change between the two steps: only `applySummary` writes rows, and
 * it first checks that the position the summary started from has not moved.
 *
 * Arrival order: on SQLite one writer commits ids in order, so the id alone is the position. On
 * PostgreSQL several instances insert at once and a smaller id may commit after a larger one, so
 * the rollup reads (received_ms, id) only up to `now - lagMs`, a line every transaction that
 * stamped an earlier time has committed by.
 */

/** A chunk summed up and merged into the stored rows, for the writer to apply. */
export interface ChunkSummary {
  /** The position it starts after, and the one it moves to. */
  from: Position;
  to: Position;
  events: number;
  /** More events wait after this chunk. */
  more: boolean;
  /** Devices were sending when it was made (a small chunk). */
  busy: boolean;
  /** The stored rows with the chunk added (its HyperLogLog too), except its exact distinct counts (withNewlySeen). */
  rows: TelemetryRollupsTable[];
  /** What each row's bucket saw, to mark in telemetry_seen (by index into rows). */
  marks: SeenMark[];
}

/** Devices, sessions or crashed sessions one bucket saw in a chunk. */
interface SeenMark {
  row: number;
  kind: keyof NewlySeen;
  day: number;
  scope: number;
  keys: number[];
}

/**
 * The next chunk after the stored position, summed up (the rollup thread's step), or null when
 * everything is rolled up.
 */
export async function summarize(
  conn: TelemetryConnection,
  options: {
    now: number;
    lagMs: number;
    /** Devices are sending: chunks stay small (CHUNK_WHILE_BUSY), so each write transaction is short. */
    busy: boolean;
  },
): Promise<ChunkSummary | null> {
  const { db, sqlite } = conn;
  const chunk = options.busy ? CHUNK_WHILE_BUSY : CHUNK;
  const position = await rolledUpTo(db);
  let rows: RawEvent[];
  if (sqlite) {
    rows = sqlite
      .prepare<[number, number], RawEvent>('select id, received_ms, app_id, version_code, device_key, session_key, type, at_ms, value from telemetry_events where id > ? order by id limit ?')
      .raw(true)
      .all(position.id, chunk);
  } else {
    const found = await db
      .selectFrom('telemetry_events')
      .select(['id', 'received_ms', 'app_id', 'version_code', 'device_key', 'session_key', 'type', 'at_ms', 'value'])
      .where((eb) => eb.or([eb('received_ms', '>', position.ms), eb.and([eb('received_ms', '=', position.ms), eb('id', '>', position.id)])]))
      .where('received_ms', '<=', options.now - options.lagMs)
      .orderBy('received_ms')
      .orderBy('id')
      .limit(chunk)
      .execute();
    rows = found.map((r): RawEvent => [Number(r.id), Number(r.received_ms), r.app_id, r.version_code, Number(r.device_key), Number(r.session_key), r.type, Number(r.at_ms), r.value]);
  }
  if (rows.length === 0) return null;
  let more = rows.length === chunk;
  let deltas = deltasOf(rows);
  // The write transaction marks every device and session the chunk saw in telemetry_seen: a chunk
  // of many (a backlog of new devices) is cut, to little while devices send, so appends wait little.
  const keys = seenKeys(deltas);
  const maxKeys = options.busy ? MAX_KEYS_WHILE_BUSY : MAX_KEYS;
  if (keys > maxKeys) {
    rows = rows.slice(0, Math.max(1, Math.floor((rows.length * maxKeys) / keys)));
    deltas = deltasOf(rows);
    more = true;
  }
  const last = rows.at(-1) as RawEvent;
  const merged = await mergeWithStored(db, deltas);
  const marks: SeenMark[] = [];
  merged.forEach(({ delta }, row) => {
    const day = Date.parse(`${delta.bucket.slice(0, 10)}T00:00:00Z`) / DAY_MS;
    for (const kind of KINDS) if (delta[kind].size > 0) marks.push({ row, kind, day, scope: scopeOf(kind, delta), keys: [...delta[kind]] });
  });
  return { from: position, to: { ms: last[RECEIVED_MS], id: last[ID] }, events: rows.length, more, busy: options.busy, rows: merged.map((m) => m.row), marks };
}

/**
 * Applies a summary (the writer's step) in one transaction: false when the position moved since
 * it was made (another instance's run on PostgreSQL added that chunk first), and nothing is written.
 */
export async function applySummary(conn: TelemetryConnection, summary: ChunkSummary): Promise<boolean> {
  return conn.db.transaction().execute(async (trx) => {
    const now = await readPosition(trx, conn.sqlite === null);
    if (now.ms !== summary.from.ms || now.id !== summary.from.id) return false;
    const fresh = await newlySeen(trx, conn.sqlite, summary.marks);
    await storeRows(trx, summary.rows.map((row, i) => withNewlySeen(row, fresh.get(i))));
    await writePosition(trx, summary.to);
    return true;
  });
}

/**
 * The stored position, locked for the transaction on PostgreSQL: two instances rolling up at once
 * (a run that outlasted its minute) take turns, and the second finds the position moved.
 */
async function readPosition(trx: Executor, postgres: boolean): Promise<Position> {
  let query = trx.selectFrom('telemetry_state').select(['name', 'value']).where('name', 'in', ['rollup_ms', 'rollup_id']);
  if (postgres) {
    await trx.insertInto('telemetry_state').values({ name: 'rollup_id', value: 0 }).onConflict((oc) => oc.column('name').doNothing()).execute();
    query = query.forUpdate();
  }
  const rows = await query.execute();
  const value = (name: string) => Number(rows.find((r) => r.name === name)?.value ?? 0);
  return { ms: value('rollup_ms'), id: value('rollup_id') };
}

async function writePosition(trx: Executor, position: Position): Promise<void> {
  await trx
    .insertInto('telemetry_state')
    .values([
      { name: 'rollup_ms', value: position.ms },
      { name: 'rollup_id', value: position.id },
    ])
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: (eb) => eb.ref('excluded.value') }))
    .execute();
}

/** The rollup's position: every event up to this id is in the aggregates (retention keeps the rest). */
export async function rolledUpTo(db: TelemetryDb | Executor): Promise<{ ms: number; id: number }> {
  const rows = await db.selectFrom('telemetry_state').select(['name', 'value']).where('name', 'in', ['rollup_ms', 'rollup_id']).execute();
  const value = (name: string) => Number(rows.find((r) => r.name === name)?.value ?? 0);
  return { ms: value('rollup_ms'), id: value('rollup_id') };
}

function emptyDelta(app_id: string, version_code: number, granularity: 'hour' | 'day', bucket: string): Delta {
  return {
    app_id,
    version_code,
    granularity,
    bucket,
    events: 0,
    starts: 0,
    crashes: 0,
    lua_errors: 0,
    screen_views: 0,
    button_clicks: 0,
    features_used: 0,
    session_stops: 0,
    session_ms: 0,
    devices: new Set(),
    sessions: new Set(),
    crashed: new Set(),
    frame: QuantileSketch.empty(),
    memory: QuantileSketch.empty(),
    startup: QuantileSketch.empty(),
  };
}

/** The hourly deltas of a chunk: each event counts for its version and for every version together. */
export function hourlyDeltas(rows: readonly RawEvent[]): Delta[] {
  const deltas = new Map<string, Delta>();
  const deltaOf = (appId: string, version: number, hour: string): Delta => {
    const key = `${appId}\t${version}\t${hour}`;
    let d = deltas.get(key);
    if (d === undefined) deltas.set(key, (d = emptyDelta(appId, version, 'hour', hour)));
    return d;
  };
  // A session's events arrive together: while app, version and hour stay the same the same deltas
  // take the next event, and a device or session already added is not looked up again.
  let last: { appId: string; version: number; hour: string; deltas: Delta[]; device: number; session: number } | undefined;
  for (const row of rows) {
    const hour = hourOf(row[AT_MS]);
    const appId = row[APP_ID];
    const version = row[VERSION_CODE];
    if (last === undefined || last.appId !== appId || last.version !== version || last.hour !== hour) {
      const own = deltaOf(appId, version, hour);
      last = { appId, version, hour, deltas: version === ALL_VERSIONS ? [own] : [own, deltaOf(appId, ALL_VERSIONS, hour)], device: -1, session: -1 };
    }
    const device = row[DEVICE];
    const session = row[SESSION];
    const newDevice = last.device !== device;
    const newSession = last.session !== session;
    last.device = device;
    last.session = session;
    for (const d of last.deltas) {
      if (newDevice) d.devices.add(device);
      if (newSession) d.sessions.add(session);
      addEvent(d, row);
    }
  }
  return [...deltas.values()];
}

function addEvent(d: Delta, row: RawEvent): void {
  d.events += 1;
  const value = row[VALUE];
  switch (row[TYPE]) {
    case 'app_start':
      d.starts += 1;
      break;
    case 'app_stop':
      if (value !== null) {
        d.session_stops += 1;
        d.session_ms += value;
      }
      break;
    case 'app_crash':
      d.crashes += 1;
      d.crashed.add(row[SESSION]);
      break;
    case 'lua_error':
      d.lua_errors += 1;
      break;
    case 'perf_frame':
      if (value !== null) d.frame.add(value);
      break;
    case 'perf_memory':
      if (value !== null) d.memory.add(value);
      break;
    case 'perf_startup':
      if (value !== null) d.startup.add(value);
      break;
    case 'screen_view':
      d.screen_views += 1;
      break;
    case 'button_click':
      d.button_clicks += 1;
      break;
    case 'feature_used':
      d.features_used += 1;
      break;
  }
}

/** A chunk's deltas: per hour, and per day (the merge of its hours). */
function deltasOf(rows: readonly RawEvent[]): Delta[] {
  const hourly = hourlyDeltas(rows);
  return [...hourly, ...dailyDeltas(hourly)];
}

/** The rows a chunk's deltas would mark in telemetry_seen at most. */
function seenKeys(deltas: readonly Delta[]): number {
  let keys = 0;
  for (const d of deltas) keys += d.devices.size + d.sessions.size + d.crashed.size;
  return keys;
}

/** A day's delta is the merge of its hours' deltas: counts add, sets unite, sketches merge. */
export function dailyDeltas(hourly: readonly Delta[]): Delta[] {
  const days = new Map<string, Delta>();
  for (const h of hourly) {
    const day = h.bucket.slice(0, 10);
    const key = `${h.app_id}\t${h.version_code}\t${day}`;
    let d = days.get(key);
    if (d === undefined) days.set(key, (d = emptyDelta(h.app_id, h.version_code, 'day', day)));
    d.events += h.events;
    d.starts += h.starts;
    d.crashes += h.crashes;
    d.lua_errors += h.lua_errors;
    d.screen_views += h.screen_views;
    d.button_clicks += h.button_clicks;
    d.features_used += h.features_used;
    d.session_stops += h.session_stops;
    d.session_ms += h.session_ms;
    for (const v of h.devices) d.devices.add(v);
    for (const v of h.sessions) d.sessions.add(v);
    for (const v of h.crashed) d.crashed.add(v);
    d.frame.merge(h.frame);
    d.memory.merge(h.memory);
    d.startup.merge(h.startup);
  }
  return [...days.values()];
}

/**
 * The stored rows of the buckets a chunk touches with the chunk's counts and sketches added: read
 * and merged before the write transaction, so its lock is held only for what must be atomic. (A
 * row cannot change in between: only a chunk's transaction writes rows, and it first checks that
 * the position, read before these rows, has not moved.)
 */
async function mergeWithStored(db: Executor, deltas: readonly Delta[]): Promise<{ delta: Delta; row: TelemetryRollupsTable }[]> {
  // Existing rows of the buckets touched, read per bucket (a chunk touches few).
  const byBucket = new Map<string, Delta[]>();
  for (const d of deltas) {
    const key = `${d.granularity}\t${d.bucket}`;
    const list = byBucket.get(key);
    if (list) list.push(d);
    else byBucket.set(key, [d]);
  }
  const merged: { delta: Delta; row: TelemetryRollupsTable }[] = [];
  const positions = new Map<number, number>();
  for (const list of byBucket.values()) {
    const first = list[0] as Delta;
    const appIds = [...new Set(list.map((d) => d.app_id))];
    const existing = new Map<string, TelemetryRollupsTable>();
    for (let i = 0; i < appIds.length; i += ROWS_PER_STATEMENT) {
      const found = await db
        .selectFrom('telemetry_rollups')
        .selectAll()
        .where('granularity', '=', first.granularity)
        .where('bucket', '=', first.bucket)
        .where('app_id', 'in', appIds.slice(i, i + ROWS_PER_STATEMENT))
        .execute();
      for (const row of found) existing.set(`${row.app_id}\t${row.version_code}`, row);
    }
    for (const d of list) merged.push({ delta: d, row: mergeRow(existing.get(`${d.app_id}\t${d.version_code}`), d, positions) });
  }
  return merged;
}

/** Writes a chunk's rows over the stored ones. */
async function storeRows(trx: Executor, rows: readonly TelemetryRollupsTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 100) {
    await trx
      .insertInto('telemetry_rollups')
      .values(rows.slice(i, i + 100))
      .onConflict((oc) =>
        oc.columns(['app_id', 'granularity', 'bucket', 'version_code']).doUpdateSet((eb) => ({
          events: eb.ref('excluded.events'),
          starts: eb.ref('excluded.starts'),
          sessions: eb.ref('excluded.sessions'),
          crashed_sessions: eb.ref('excluded.crashed_sessions'),
          session_stops: eb.ref('excluded.session_stops'),
          session_ms: eb.ref('excluded.session_ms'),
          crashes: eb.ref('excluded.crashes'),
          lua_errors: eb.ref('excluded.lua_errors'),
          unique_devices: eb.ref('excluded.unique_devices'),
          screen_views: eb.ref('excluded.screen_views'),
          button_clicks: eb.ref('excluded.button_clicks'),
          features_used: eb.ref('excluded.features_used'),
          frame_ms: eb.ref('excluded.frame_ms'),
          memory_mb: eb.ref('excluded.memory_mb'),
          startup_ms: eb.ref('excluded.startup_ms'),
          devices_hll: eb.ref('excluded.devices_hll'),
        })),
      )
      .execute();
  }
}

/** How many devices, sessions and crashed sessions a chunk added that its bucket had not seen. */
interface NewlySeen {
  devices: number;
  sessions: number;
  crashed: number;
}
const NOTHING_NEW: NewlySeen = { devices: 0, sessions: 0, crashed: 0 };
const KINDS = ['devices', 'sessions', 'crashed'] as const;

/** 48 bits of a SHA-256: a bucket's identity in telemetry_seen (collisions: about 1 in 10^14 per pair). */
function scopeOf(kind: string, d: Delta): number {
  return createHash('sha256').update(`${kind}\t${d.app_id}\t${d.version_code}\t${d.bucket}`).digest().readUIntBE(0, 6);
}

/**
 * Records what each bucket saw in the chunk and answers, per row, how much of it is new: the exact
 * distinct counts are the rows telemetry_seen gained. On SQLite a prepared `insert or ignore` a
 * row (its `changes` says whether it was new); on PostgreSQL multi-row inserts with `on conflict
 * do nothing returning`, which gives back only the rows inserted.
 */
async function newlySeen(trx: Executor, sqlite: SQLite.Database | null, marks: readonly SeenMark[]): Promise<Map<number, NewlySeen>> {
  const found = new Map<number, NewlySeen>();
  const add = (mark: SeenMark) => {
    let seen = found.get(mark.row);
    if (seen === undefined) found.set(mark.row, (seen = { devices: 0, sessions: 0, crashed: 0 }));
    seen[mark.kind] += 1;
  };
  if (sqlite) {
    const insert = sqlite.prepare<[number, number, number]>('insert or ignore into telemetry_seen (day, scope, key) values (?, ?, ?)');
    for (const mark of marks) for (const key of mark.keys) if (insert.run(mark.day, mark.scope, key).changes > 0) add(mark);
    return found;
  }
  const byScope = new Map(marks.map((m) => [m.scope, m]));
  const rows = marks.flatMap((m) => m.keys.map((key) => ({ day: m.day, scope: m.scope, key })));
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const inserted = await trx.insertInto('telemetry_seen').values(rows.slice(i, i + ROWS_PER_STATEMENT)).onConflict((oc) => oc.doNothing()).returning('scope').execute();
    for (const row of inserted) {
      const mark = byScope.get(Number(row.scope));
      if (mark) add(mark);
    }
  }
  return found;
}

function mergeSketch(stored: Uint8Array | null | undefined, delta: QuantileSketch): Uint8Array | null {
  if (delta.count === 0) return stored ?? null;
  const sketch = QuantileSketch.decode(stored);
  sketch.merge(delta);
  return sketch.encode();
}

/** A stored row (or none) with a chunk's counts, sums and sketches added; the exact distinct counts come after (withNewlySeen). */
function mergeRow(row: TelemetryRollupsTable | undefined, d: Delta, positions: Map<number, number>): TelemetryRollupsTable {
  return {
    app_id: d.app_id,
    granularity: d.granularity,
    bucket: d.bucket,
    version_code: d.version_code,
    events: Number(row?.events ?? 0) + d.events,
    starts: Number(row?.starts ?? 0) + d.starts,
    sessions: Number(row?.sessions ?? 0),
    crashed_sessions: Number(row?.crashed_sessions ?? 0),
    session_stops: Number(row?.session_stops ?? 0) + d.session_stops,
    session_ms: Number(row?.session_ms ?? 0) + d.session_ms,
    crashes: Number(row?.crashes ?? 0) + d.crashes,
    lua_errors: Number(row?.lua_errors ?? 0) + d.lua_errors,
    unique_devices: Number(row?.unique_devices ?? 0),
    screen_views: Number(row?.screen_views ?? 0) + d.screen_views,
    button_clicks: Number(row?.button_clicks ?? 0) + d.button_clicks,
    features_used: Number(row?.features_used ?? 0) + d.features_used,
    frame_ms: mergeSketch(row?.frame_ms, d.frame),
    memory_mb: mergeSketch(row?.memory_mb, d.memory),
    startup_ms: mergeSketch(row?.startup_ms, d.startup),
    devices_hll: withDevices(row?.devices_hll ?? null, d.devices, positions),
  };
}

/**
 * The bucket's HyperLogLog with the chunk's devices added, all of them: adding a device it has
 * already seen changes nothing, so this needs no telemetry_seen and runs before the write.
 */
function withDevices(stored: Uint8Array | null, devices: ReadonlySet<number>, positions: Map<number, number>): Uint8Array | null {
  if (devices.size === 0) return stored;
  const hll = DistinctSketch.decode(stored);
  for (const device of devices) {
    // A device is in four buckets of a chunk (its hour and day, its version and all): hashed once.
    let position = positions.get(device);
    if (position === undefined) positions.set(device, (position = DistinctSketch.positionOf(String(device))));
    hll.addAt(position);
  }
  return hll.encode();
}

/** The exact distinct counts a chunk adds: the devices, sessions and crashed sessions its bucket had not seen. */
function withNewlySeen(row: TelemetryRollupsTable, seen: NewlySeen = NOTHING_NEW): TelemetryRollupsTable {
  return {
    ...row,
    sessions: Number(row.sessions) + seen.sessions,
    crashed_sessions: Number(row.crashed_sessions) + seen.crashed,
    unique_devices: Number(row.unique_devices) + seen.devices,
  };
}

/** Drops what telemetry_seen remembers of buckets older than `day` (the raw events' retention). */
export async function forgetSeenBefore(db: TelemetryDb, day: string): Promise<void> {
  await sql`delete from telemetry_seen where day < ${Date.parse(`${day}T00:00:00Z`) / DAY_MS}`.execute(db);
}
