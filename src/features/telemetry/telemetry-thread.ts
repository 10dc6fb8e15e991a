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

const db = openTelemetryWriter(database);
// Every task waits for it: the file is migrated before anything is read or written. (Not a
// top-level await: tsx cannot load such a module into a worker thread.)
const migrated = database.dialect === 'sqlite' ? migrateTelemetry(db) : Promise.resolve();
const store = new TelemetryStore(db);

interface Waiting {
  request: Extract<WriterRequest, { op: 'append' }>;
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
      while (appends.length > 0) {
        const batch = appends.slice(0, APPENDS_PER_TRANSACTION);
        appends = appends.slice(batch.length);
        const now = Math.max(...batch.map((a) => a.request.now));
        try {
          await store.append(
            now,
            batch.flatMap((a) => a.request.events),
            batch.flatMap((a) => a.request.crashes),
          );
          for (const a of batch) a.resolve();
        } catch (err) {
          for (const a of batch) a.reject(err);
        }
      }
    } finally {
      flushing = undefined;
    }
  })();
  return flushing;
}

/** Between two chunks of long work, the appends waiting get written. */
async function yieldToAppends(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await flush();
}

export default async function handle(request: WriterRequest): Promise<unknown> {
  await migrated;
  switch (request.op) {
    case 'ready':
      return null;
    case 'append':
      return new Promise<void>((resolve, reject) => {
        appends.push({ request, resolve, reject });
        void flush();
      });
    case 'rollup':
      return rollUp(db, { now: request.now, lagMs, yield: yieldToAppends });
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
