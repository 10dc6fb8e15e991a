import { workerData } from 'piscina';
import type { DatabaseConfig } from '../../config/index.js';
import { migrateTelemetry, openTelemetryWriter } from '../../db/telemetry.js';
import { rollUp } from './rollup.js';
import { TelemetryStore, type CrashRow, type EventRow } from './telemetry-store.js';
import type { CrashGroupStatus } from './telemetry.table.js';

/** What the main thread asks of the writer (a Piscina task each; many run at once). */
export type WriterRequest =
  | { op: 'ready' }
  | { op: 'append'; now: number; events: EventRow[]; crashes: CrashRow[] }
  | { op: 'rollup'; now: number }
  | { op: 'prune'; now: number; days: number }
  | { op: 'forget_device'; deviceHash: string }
  | { op: 'crash_status'; appId: string; groupId: string; status: CrashGroupStatus; now: number }
  | { op: 'close' };

export interface WriterData {
  database: DatabaseConfig;
  /** How long a PostgreSQL insert may take to commit after its arrival time (rollup.ts). */
  lagMs: number;
}

/** Most appends committed together; the rest wait for the next transaction. */
const APPENDS_PER_TRANSACTION = 200;

const { database, lagMs } = workerData as WriterData;

const conn = openTelemetryWriter(database);
const { db } = conn;
// Every task waits for it: the file is migrated before anything is read or written. (Not a
// top-level await: tsx cannot load such a module into a worker thread.)
const migrated = database.dialect === 'sqlite' ? migrateTelemetry(db) : Promise.resolve();
// Made once the tables exist: it prepares its statements against them.
const ready = migrated.then(() => new TelemetryStore(conn));

interface Waiting {
  request: Extract<WriterRequest, { op: 'append' }>;
  resolve(): void;
  reject(err: unknown): void;
}
let appends: Waiting[] = [];
/** When the last append arrived (a rollup keeps its chunks small while devices send). */
let lastAppend = 0;
let flushing: Promise<void> | undefined;

/**
 * Group commit: appends that arrive while a transaction is being written go into the next one
 * together, so the fsyncs per second stay few however many requests come.
 */
function flush(): Promise<void> {
  flushing ??= (async () => {
    try {
      const store = await ready;
      while (appends.length > 0) {
        const batch = appends.slice(0, APPENDS_PER_TRANSACTION);
        appends = appends.slice(batch.length);
        const now = Math.max(...batch.map((a) => a.request.now));
        const events = batch.filter((a) => a.request.events.length > 0);
        const crashes = batch.filter((a) => a.request.crashes.length > 0);
        // Each kind in its own transaction, each acknowledged once its own commit is done.
        await settle(events, () => store.appendEventRows(now, events.flatMap((a) => a.request.events)));
        await settle(crashes, () => store.appendCrashes(now, crashes.flatMap((a) => a.request.crashes)));
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

export default async function handle(request: WriterRequest): Promise<unknown> {
  const store = await ready;
  switch (request.op) {
    case 'ready':
      return null;
    case 'append':
      return new Promise<void>((resolve, reject) => {
        appends.push({ request, resolve, reject });
        lastAppend = Date.now();
        void flush();
      });
    case 'rollup':
      return rollUp(conn, { now: request.now, lagMs, exclusive: (work) => store.exclusive(work), busy: () => appends.length > 0 || Date.now() - lastAppend < 1000 });
    case 'prune':
      return store.prune(request.now, request.days);
    case 'forget_device':
      return store.forgetDevice(request.deviceHash);
    case 'crash_status':
      return store.setCrashStatus(request.appId, request.groupId, request.status, request.now);
    case 'close':
      // What was sent before the close is written first; then the file is closed cleanly.
      await flush();
      await db.destroy();
      return null;
  }
}
