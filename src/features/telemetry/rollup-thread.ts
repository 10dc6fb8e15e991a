import { setPriority } from 'node:os';
import { workerData } from 'piscina';
import type { DatabaseConfig } from '../../config/index.js';
import { openTelemetryScanner, type TelemetryConnection } from '../../db/telemetry.js';
import { summarize, type ChunkSummary } from './rollup.js';

export interface RollupData {
  database: DatabaseConfig;
  /** How long a PostgreSQL insert may take to commit after its arrival time (rollup.ts). */
  lagMs: number;
}

export interface RollupRequest {
  now: number;
  /** Devices are sending: small chunks, short write transactions. */
  busy: boolean;
}

let conn: TelemetryConnection | undefined;

// Background work: on Linux a thread's nice value is its own, so the rollup (and its start) takes
// what CPU the request thread and the writer leave over, instead of an equal share of a NAS's two
// cores while devices wait for their 202s. (Raising one's own nice value needs no privilege.)
try {
  setPriority(19);
} catch {
  // Not allowed here (a sandbox): the rollup runs at the same priority, only less politely.
}

/**
 * The rollup's reading and summing up, in a thread of its own beside the writer's: a minute's
 * events (3 million at 50 000 a second) are read and summed here, and the writer thread only
 * applies each chunk's summary in a short transaction (rollup.ts). Read-only: the thread ends
 * after a while idle (telemetry-writer.ts) with nothing to write back.
 */
export default async function summarizeNext(request: RollupRequest): Promise<ChunkSummary | null> {
  const { database, lagMs } = workerData as RollupData;
  conn ??= openTelemetryScanner(database);
  return summarize(conn, { now: request.now, lagMs, busy: request.busy });
}
