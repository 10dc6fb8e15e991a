import { setTimeout } from 'node:timers/promises';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../../config/index.js';
import { workerModule } from '../../shared/index.js';
import { MIN_EVENT_BYTES } from './intake.js';
import type { RollupData, RollupRequest } from './rollup-thread.js';
import type { ChunkSummary } from './rollup.js';
import type { CrashReportAnswer, DeviceAnswer, EventsAnswer, WriterData, WriterRequest } from './telemetry-thread.js';
import { telemetryError } from './telemetry.errors.js';
import { EVENTS_BODY_BYTES, MAX_EVENTS_PER_BATCH } from './telemetry.schemas.js';

/**
 * The main thread's side of the telemetry writer: one worker thread that owns the telemetry
 * database (telemetry-thread.ts), so reading and checking batches, inserts, rollups and deletions
 * never run on the event loop that serves requests, and on SQLite never take the portal file's
 * write lock. If the thread dies, what it was writing is refused (no 202) and the pool starts
 * another.
 *
 * Bounded: at most `queueEvents` events may be on their way to the disk at once, a batch counted
 * as the most events its size could hold until it is written; a batch beyond that is refused
 * (telemetry_busy, 503 with Retry-After) instead of growing memory.
 */
export class TelemetryWriter {
  private pool: Piscina<WriterRequest, unknown> | undefined;
  private rollups: Piscina<RollupRequest, ChunkSummary | null> | undefined;
  private rolling: Promise<{ events: number }> | undefined;
  private ready: Promise<void> | undefined;
  private inFlight = 0;
  /** When a device last sent something here (a rollup then keeps its write transactions short). */
  private lastIngest = 0;
  private closed = false;
  /** Device requests refused with telemetry_busy, and the events they were counted as (/metrics). */
  private busyRefusals = 0;
  private busyRefusedEvents = 0;
  /** Writer requests that failed (answered 503 telemetry_unavailable). */
  private writeFailures = 0;

  constructor(
    private readonly options: {
      database: DatabaseConfig;
      dataDir: string;
      /** Requests a device may make a minute (0: no limit); counted in the thread. */
      perDevicePerMinute: number;
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

  /** For /metrics: how many events may be in flight, what was refused (503 telemetry_busy) and what failed (503 telemetry_unavailable) since start. */
  counters(): { capacity: number; refusedRequests: number; refusedEvents: number; failedWrites: number } {
    return { capacity: this.options.queueEvents, refusedRequests: this.busyRefusals, refusedEvents: this.busyRefusedEvents, failedWrites: this.writeFailures };
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

  /**
   * A batch of events as the device sent it (the request body): read, checked and written by the
   * thread; answered once the accepted events are committed (on disk on SQLite).
   */
  ingestEvents(now: number, body: Uint8Array): Promise<EventsAnswer> {
    const most = Math.min(MAX_EVENTS_PER_BATCH, Math.max(1, Math.floor(body.byteLength / MIN_EVENT_BYTES)));
    return this.bounded(most, () => this.run({ op: 'events', now, body }) as Promise<EventsAnswer>);
  }

  /** A crash report as the device sent it: filed into its group, answered once it is committed. */
  ingestCrash(now: number, body: Uint8Array): Promise<CrashReportAnswer> {
    // Counted by its size, as a batch of that size would be at the least: 128 KiB of trace is 250.
    const units = Math.max(1, Math.ceil(body.byteLength / (EVENTS_BODY_BYTES / MAX_EVENTS_PER_BATCH)));
    return this.bounded(units, () => this.run({ op: 'crash', now, body }) as Promise<CrashReportAnswer>);
  }

  /**
   * Adds what arrived since the last run to the aggregates, a chunk at a time: the rollup thread
   * reads and sums each chunk up (rollup-thread.ts), the writer thread applies it between appends.
   */
  rollUp(now: number): Promise<{ events: number }> {
    // One run at a time: a run that outlasts its minute is joined by the next slot's job, not
    // raced (both would sum up the same chunk and one would be thrown away).
    this.rolling ??= this.rollChunks(now).finally(() => (this.rolling = undefined));
    return this.rolling;
  }

  private async rollChunks(now: number): Promise<{ events: number }> {
    await this.start();
    const started = Date.now();
    let events = 0;
    for (;;) {
      // A long backlog is rolled up over several runs, each ending before its job's timeout; a
      // shutdown waits for one chunk at most.
      if (this.closed || Date.now() - started > RUN_MS) return { events };
      const busy = Date.now() - this.lastIngest < BUSY_MS;
      let summary: ChunkSummary | null;
      try {
        summary = await this.rollupThread().run({ now, busy });
      } catch (err) {
        this.options.log.error({ err }, 'the telemetry rollup failed');
        throw telemetryError('telemetry_unavailable', 'The telemetry rollup failed; the next run retries it.');
      }
      if (summary === null) return { events };
      const applying = performance.now();
      if ((await this.run({ op: 'apply_rollup', summary })) === true) events += summary.events;
      if (!summary.more) return { events };
      // While devices send, the writer gets twice the time a chunk took it before the next one:
      // the rollup takes at most a third of it, and a run of chunks never queues appends behind it.
      if (busy) await setTimeout(2 * (performance.now() - applying));
    }
  }

  async prune(now: number, days: number): Promise<{ events: number; reports: number }> {
    await this.start();
    return (await this.run({ op: 'prune', now, days })) as { events: number; reports: number };
  }

  /** Erases a device's raw events and crash reports (charged to the device). */
  async forgetDevice(now: number, deviceHash: string): Promise<DeviceAnswer<null>> {
    await this.start();
    return (await this.run({ op: 'forget_device', now, deviceHash })) as DeviceAnswer<null>;
  }

  async setCrashStatus(appId: string, groupId: string, status: 'open' | 'resolved' | 'ignored', now: number): Promise<boolean> {
    await this.start();
    return (await this.run({ op: 'crash_status', appId, groupId, status, now })) as boolean;
  }

  /** Writes what was sent, closes the database and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A rollup cut short rolls its chunk back; the next start redoes it.
    await this.rollups?.destroy();
    this.rollups = undefined;
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

  /** Counts `units` events in flight while `work` runs; refuses when they would pass the bound. */
  private async bounded<T>(units: number, work: () => Promise<T>): Promise<T> {
    if (this.inFlight + units > this.options.queueEvents) {
      this.busyRefusals += 1;
      this.busyRefusedEvents += units;
      throw telemetryError('telemetry_busy', 'Telemetry is arriving faster than it can be written; retry in a few seconds.');
    }
    this.inFlight += units;
    this.lastIngest = Date.now();
    try {
      await this.start();
      return await work();
    } finally {
      this.inFlight -= units;
    }
  }

  private async run(request: WriterRequest): Promise<unknown> {
    try {
      return await this.threads().run(request);
    } catch (err) {
      this.writeFailures += 1;
      this.options.log.error({ err, op: request.op }, 'telemetry write failed');
      throw telemetryError('telemetry_unavailable', 'Telemetry could not be written; retry later.');
    }
  }

  /**
   * The rollup's thread: started by a run, ended after a while idle (a run comes every minute,
   * and on a quiet portal finds nothing), so it holds no memory between runs.
   */
  private rollupThread(): Piscina<RollupRequest, ChunkSummary | null> {
    if (this.closed) throw new Error('the telemetry writer is closed');
    if (this.rollups) return this.rollups;
    const pool = new Piscina<RollupRequest, ChunkSummary | null>({
      ...workerModule('features/telemetry/rollup-thread'),
      workerData: { database: this.options.database, lagMs: this.options.lagMs } satisfies RollupData,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: 10_000,
      recordTiming: false,
      // A chunk's rows and sums are garbage once it is summed up: a young generation that holds a
      // chunk, and an old one whose limit (256 MiB) makes V8 collect it at little growth.
      resourceLimits: { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 256 },
    });
    pool.on('error', (err: unknown) => {
      this.options.log.error({ err }, 'the telemetry rollup thread failed');
      if (this.rollups !== pool) return;
      this.rollups = undefined;
      void pool.destroy();
    });
    this.rollups = pool;
    return pool;
  }

  private threads(): Piscina<WriterRequest, unknown> {
    if (this.closed) throw new Error('the telemetry writer is closed');
    if (this.pool) return this.pool;
    const pool = new Piscina<WriterRequest, unknown>({
      ...workerModule('features/telemetry/telemetry-thread'),
      workerData: { database: this.options.database, dataDir: this.options.dataDir, perDevicePerMinute: this.options.perDevicePerMinute } satisfies WriterData,
      // One writer: SQLite has one, and group commit needs every append in the same thread.
      minThreads: 1,
      maxThreads: 1,
      // Appends wait together for the next commit; the bound is queueEvents, counted above.
      concurrentTasksPerWorker: 100_000,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      recordTiming: false,
      // Its garbage lives a few milliseconds (a batch from its bytes to its commit): a young
      // generation that holds the batches in flight keeps it from being promoted. (Measured at
      // 50 000 events/s: with 8 MiB the old generation grew by 50 MiB between full collections.)
      // The old generation's limit makes V8 collect it at little growth (its growth factor is
      // about 1.3 for a heap limited to 256 MiB, against 4 under Node's default limit).
      resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 },
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

/** How recently a device must have sent something for a rollup to count the portal as busy. */
const BUSY_MS = 5_000;
/**
 * Longest a rollup run keeps taking chunks (a backlog of days); the next run goes on from where it
 * stopped. Below the job's ten-minute timeout, so a run ends before its job is given up on.
 */
const RUN_MS = 5 * 60_000;
