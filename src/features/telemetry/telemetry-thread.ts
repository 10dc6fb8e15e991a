import { workerData } from 'piscina';
import type { DatabaseConfig } from '../../config/index.js';
import { migrateTelemetry, openCatalogReader, openTelemetryWriter } from '../../db/telemetry.js';
import { DeviceIds } from '../../storage/index.js';
import { DeviceBudget } from './device-budget.js';
import { checkBatch, checkCrash, limited, type CrashAnswer, type IngestResult, type Refusal } from './intake.js';
import type { ChunkSummary } from './rollup.js';
import { TelemetryStore, type CrashRow, type EventRow } from './telemetry-store.js';
import type { CrashGroupStatus } from './telemetry.table.js';
import { VersionResolver } from './version-resolver.js';

/** What the main thread asks of the writer (a Piscina task each; many run at once). */
export type WriterRequest =
  | { op: 'ready' }
  /** A device's request body (a batch of events, a crash report): read, checked and written here. */
  | { op: 'events'; now: number; body: Uint8Array }
  | { op: 'crash'; now: number; body: Uint8Array }
  /** A chunk the rollup thread summed up, added to the aggregates between appends. */
  | { op: 'apply_rollup'; summary: ChunkSummary }
  | { op: 'prune'; now: number; days: number }
  | { op: 'forget_device'; now: number; deviceHash: string }
  | { op: 'crash_status'; appId: string; groupId: string; status: CrashGroupStatus; now: number }
  | { op: 'close' };

/** What a device's request gets: the counts of a batch, or why the whole request is refused. */
export type DeviceAnswer<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };
export type EventsAnswer = DeviceAnswer<IngestResult>;
export type CrashReportAnswer = DeviceAnswer<CrashAnswer>;

export interface WriterData {
  database: DatabaseConfig;
  /** Where the device id key is (DATA_DIR): the thread hashes the ids it reads. */
  dataDir: string;
  /** Requests a device may make a minute (0: no limit). */
  perDevicePerMinute: number;
}

/** Most appends committed together; the rest wait for the next transaction. */
const APPENDS_PER_TRANSACTION = 200;

const { database, dataDir, perDevicePerMinute } = workerData as WriterData;

const conn = openTelemetryWriter(database);
const { db } = conn;
/** The portal's apps and versions, read to resolve what devices name. */
const catalog = openCatalogReader(database);
const versions = new VersionResolver(catalog);
const budget = new DeviceBudget(perDevicePerMinute);
// Every task waits for it: the file is migrated before anything is read or written. (Not a
// top-level await: tsx cannot load such a module into a worker thread.)
const migrated = database.dialect === 'sqlite' ? migrateTelemetry(db) : Promise.resolve();
// Made once the tables exist: it prepares its statements against them.
const ready = Promise.all([migrated, DeviceIds.open(dataDir)]).then(([, deviceIds]) => ({ store: new TelemetryStore(conn), deviceIds }));

interface Waiting {
  now: number;
  events: EventRow[];
  crashes: CrashRow[];
  resolve(): void;
  reject(err: unknown): void;
}
let appends: Waiting[] = [];
let flushing: Promise<void> | undefined;

/**
 * Group commit: appends that arrive while a transaction is being written go into the next one
 * together, so the fsyncs per second stay few however many requests come.
 */
function flush(): Promise<void> {
  flushing ??= (async () => {
    try {
      const { store } = await ready;
      while (appends.length > 0) {
        const batch = appends.slice(0, APPENDS_PER_TRANSACTION);
        appends = appends.slice(batch.length);
        const now = Math.max(...batch.map((a) => a.now));
        const events = batch.filter((a) => a.events.length > 0);
        const crashes = batch.filter((a) => a.crashes.length > 0);
        // Each kind in its own transaction, each acknowledged once its own commit is done.
        await settle(events, () => store.appendEventRows(now, events.flatMap((a) => a.events)));
        await settle(crashes, () => store.appendCrashes(now, crashes.flatMap((a) => a.crashes)));
      }
    } catch (err) {
      // The file could not be opened or migrated: nothing waiting can be written.
      for (const a of appends.splice(0)) a.reject(err);
    } finally {
      flushing = undefined;
    }
  })();
  return flushing;
}

async function settle(waiting: Waiting[], write: () => Promise<void>): Promise<void> {
  if (waiting.length === 0) return;
  try {
    await write();
    for (const a of waiting) a.resolve();
  } catch (err) {
    for (const a of waiting) a.reject(err);
  }
}

/** Resolves once the rows are committed (on disk on SQLite). */
function append(now: number, events: EventRow[], crashes: CrashRow[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    appends.push({ now, events, crashes, resolve, reject });
    void flush();
  });
}

export default async function handle(request: WriterRequest): Promise<unknown> {
  const { store, deviceIds } = await ready;
  switch (request.op) {
    case 'ready':
      return null;
    case 'events': {
      const checked = await checkBatch(request.body, request.now, { deviceIds, versions, budget });
      if (!checked.ok) return checked satisfies EventsAnswer;
      if (checked.rows.length > 0) await append(request.now, checked.rows, []);
      return { ok: true, value: checked.result } satisfies EventsAnswer;
    }
    case 'crash': {
      const checked = await checkCrash(request.body, request.now, { deviceIds, versions, budget });
      if (!checked.ok) return checked satisfies CrashReportAnswer;
      if (checked.row) await append(request.now, [], [checked.row]);
      return { ok: true, value: checked.answer } satisfies CrashReportAnswer;
    }
    case 'apply_rollup':
      return store.applyRollup(request.summary);
    case 'prune':
      return store.prune(request.now, request.days);
    case 'forget_device': {
      const wait = budget.charge(request.deviceHash, request.now);
      if (wait !== null) return limited(wait);
      await store.forgetDevice(request.deviceHash);
      return { ok: true, value: null } satisfies DeviceAnswer<null>;
    }
    case 'crash_status':
      return store.setCrashStatus(request.appId, request.groupId, request.status, request.now);
    case 'close':
      // What was sent before the close is written first; then the file is closed cleanly.
      await flush();
      await Promise.all([db.destroy(), catalog.destroy()]);
      return null;
  }
}

