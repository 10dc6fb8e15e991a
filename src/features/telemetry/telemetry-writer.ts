import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../../config/index.js';
import type { CrashRow, EventRow } from './telemetry-store.js';
import type { WriterData, WriterRequest } from './telemetry-thread.js';
import { telemetryError } from './telemetry.errors.js';

/**
 * The main thread's side of the telemetry writer: one worker thread that owns the telemetry
 * database (telemetry-thread.ts), so its inserts, rollups and deletions never run on the event
 * loop that serves requests, and on SQLite never take the portal file's write lock. If the thread
 * dies, what it was writing is refused (no 202) and the pool starts another.
 *
 * Bounded: at most `queueEvents` events may be on their way to the disk at once; a batch beyond
 * that is refused (telemetry_busy, 503 with Retry-After) instead of growing memory.
 */
export class TelemetryWriter {
  private pool: Piscina<WriterRequest, unknown> | undefined;
  private ready: Promise<void> | undefined;
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly options: {
      database: DatabaseConfig;
      log: Logger;
      /** Most events accepted but not yet on disk. */
      queueEvents: number;
      /** PostgreSQL: how late a commit may be behind its arrival time (rollup.ts). */
      lagMs: number;
    },
  ) {}

  /** Whether the thread was started (by a request, a read or a job) in this process. */
  get started(): boolean {
    return this.ready !== undefined;
  }

  /** Events (and crash reports) sent and not yet written. */
  get queued(): number {
    return this.inFlight;
  }

  /** Starts the thread (which migrates the telemetry file) unless it runs already. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(telemetryError('telemetry_unavailable', 'The portal is shutting down.'));
    this.ready ??= this.run({ op: 'ready' }).then(
      () => undefined,
      (err: unknown) => {
        this.ready = undefined;
        throw err;
      },
    );
    return this.ready;
  }

  /** Resolves once every row is committed (on disk on SQLite); refuses when the queue is full. */
  async append(now: number, events: EventRow[], crashes: CrashRow[]): Promise<void> {
    const units = events.length + crashes.length;
    if (this.inFlight + units > this.options.queueEvents) {
      throw telemetryError('telemetry_busy', 'Telemetry is arriving faster than it can be written; retry in a few seconds.');
    }
    this.inFlight += units;
    try {
      await this.start();
      await this.run({ op: 'append', now, events, crashes });
    } finally {
      this.inFlight -= units;
    }
  }

  async rollUp(now: number): Promise<{ events: number }> {
    await this.start();
    return (await this.run({ op: 'rollup', now })) as { events: number };
  }

  async prune(now: number, days: number): Promise<{ events: number; reports: number }> {
    await this.start();
    return (await this.run({ op: 'prune', now, days })) as { events: number; reports: number };
  }

  async forgetDevice(deviceHash: string): Promise<void> {
    await this.start();
    await this.run({ op: 'forget_device', deviceHash });
  }

  async setCrashStatus(appId: string, groupId: string, status: 'open' | 'resolved' | 'ignored', now: number): Promise<boolean> {
    await this.start();
    return (await this.run({ op: 'crash_status', appId, groupId, status, now })) as boolean;
  }

  /** Writes what was sent, closes the database and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pool = this.pool;
    if (pool === undefined) return;
    try {
      await this.ready;
      await pool.run({ op: 'close' });
    } catch {
      // A thread that failed has nothing left to write.
    }
    await pool.destroy();
    this.pool = undefined;
  }

  private async run(request: WriterRequest): Promise<unknown> {
    try {
      return await this.threads().run(request);
    } catch (err) {
      this.options.log.error({ err, op: request.op }, 'telemetry write failed');
      throw telemetryError('telemetry_unavailable', 'Telemetry could not be written; retry later.');
    }
  }

  private threads(): Piscina<WriterRequest, unknown> {
    if (this.closed) throw new Error('the telemetry writer is closed');
    if (this.pool) return this.pool;
    const typescript = import.meta.url.endsWith('.ts');
    const pool = new Piscina<WriterRequest, unknown>({
      filename: new URL(typescript ? './telemetry-thread.ts' : './telemetry-thread.js', import.meta.url).href,
      ...(typescript ? { execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] } : {}),
      workerData: { database: this.options.database, lagMs: this.options.lagMs } satisfies WriterData,
      // One writer: SQLite has one, and group commit needs every append in the same thread.
      minThreads: 1,
      maxThreads: 1,
      // Appends wait together for the next commit; the bound is queueEvents, counted above.
      concurrentTasksPerWorker: 100_000,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      recordTiming: false,
      // Its garbage is short-lived (rows on their way to the disk): a small young generation keeps
      // the thread's memory down at no measurable cost in speed.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    // A thread that dies (it cannot open its file, say) fails the tasks it held, which callers
    // hear as telemetry_unavailable; unheard, the pool's 'error' event would end the process. The
    // thread Piscina starts in its place fails the same way while starting, and then Piscina
    // starts none: tasks sent to that pool would wait for ever (close() among them). So the pool
    // goes, refusing what it held, and the next task starts a new one. (One listener per pool:
    // added per task, they piled up with every request.)
    pool.on('error', (err: unknown) => {
      this.options.log.error({ err }, 'the telemetry writer thread failed');
      if (this.pool !== pool) return;
      this.pool = undefined;
      this.ready = undefined;
      void pool.destroy();
    });
    this.pool = pool;
    return pool;
  }
}
