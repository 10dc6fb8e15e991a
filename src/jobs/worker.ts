import type { Db, Dialect } from '../db/index.js';
import type { Clock, Ids } from '../shared/index.js';
import { retryDelayMs } from './backoff.js';
import { buryAbandoned, claimJobs, completeJob, failJob, pruneDone, releaseJob, renewLease, type Claim, type JobRow } from './jobs.repository.js';
import { JobLeaseLost, type DefinedKind, type JobContext, type JobQueue } from './queue.js';

/** Just enough of a logger: app.ts passes its pino logger. */
export interface JobLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface JobWorkerOptions {
  db: Db;
  dialect: Dialect;
  queue: JobQueue;
  clock: Clock;
  ids: Ids;
  log: JobLog;
  /** Jobs run at once by this worker (JOBS_CONCURRENCY). */
  concurrency?: number;
  /** How long a claim holds without renewal; renewed every third of it while the handler runs. */
  leaseMs?: number;
  /** Poll interval while there is work; doubles while idle, up to maxPollMs. */
  pollMs?: number;
  maxPollMs?: number;
  /** How long finished (`done`) jobs are kept before they are deleted. */
  keepDoneMs?: number;
  /** [0, 1) for the retry jitter; Math.random by default. */
  random?: () => number;
  /** Told of each failed attempt once it is recorded (the portal's metrics): its kind, and whether the job is now dead. */
  onAttemptFailed?: (kind: string, dead: boolean) => void;
}

/** The text kept of a failure: enough to diagnose, bounded so a huge message cannot bloat a row. */
export const MAX_ERROR_LENGTH = 2000;
const PRUNE_EVERY_MS = 10 * 60 * 1000;
const PRUNE_BATCH = 1_000;
/** Up to 10 000 rows per prune, 1.4 million a day: far above what the portal enqueues. */
const PRUNE_BATCHES = 10;

interface Running {
  readonly kind: string;
  readonly claim: Claim;
  readonly abort: AbortController;
  done: Promise<void>;
  /** Given back by stop(): its outcome is no longer this worker's to record. */
  released: boolean;
}

/**
 * Runs jobs of the queue's kinds in this process: polls, claims under a lease, runs the handlers
 * with bounded concurrency, renews leases while they run, records success, retry or death, and
 * enqueues each recurring kind's next slot. Stop it before closing the database.
 */
export class JobWorker {
  /** This instance, as written in locked_by: completions are fenced on it. */
  readonly id: string;
  private readonly o: Required<Omit<JobWorkerOptions, 'concurrency' | 'leaseMs' | 'pollMs' | 'maxPollMs' | 'keepDoneMs' | 'random' | 'onAttemptFailed'>> & {
    concurrency: number;
    leaseMs: number;
    pollMs: number;
    maxPollMs: number;
    keepDoneMs: number;
    random: () => number;
  };
  private readonly running = new Map<string, Running>();
  private readonly scheduledSlot = new Map<string, string>();
  private ticking: Promise<number> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private idleDelayMs: number;
  private started = false;
  private stopping = false;
  private lastBuryMs = Number.NEGATIVE_INFINITY;
  private lastPruneMs = Number.NEGATIVE_INFINITY;
  private readonly onAttemptFailed: JobWorkerOptions['onAttemptFailed'];

  constructor(options: JobWorkerOptions) {
    this.onAttemptFailed = options.onAttemptFailed;
    this.o = {
      ...options,
      concurrency: options.concurrency ?? 2,
      leaseMs: options.leaseMs ?? 30_000,
      pollMs: options.pollMs ?? 1_000,
      maxPollMs: options.maxPollMs ?? 10_000,
      keepDoneMs: options.keepDoneMs ?? 7 * 24 * 60 * 60 * 1000,
      random: options.random ?? Math.random,
    };
    if (!Number.isInteger(this.o.concurrency) || this.o.concurrency < 1) throw new Error('job worker concurrency must be a positive integer');
    this.id = options.ids.id();
    this.idleDelayMs = this.o.pollMs;
  }

  /** Starts polling in the background. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(1, Math.floor(this.o.leaseMs / 3)));
    this.heartbeat.unref();
    this.later(0);
  }

  /** Polls now instead of at the next interval: call after committing a transaction that enqueued. */
  wake(): void {
    if (!this.started || this.stopping) return;
    this.idleDelayMs = this.o.pollMs;
    this.later(0);
  }

  /** Jobs this worker is running now. */
  get busy(): number {
    return this.running.size;
  }

  /**
   * One pass: buries jobs abandoned on their last attempt, enqueues due recurring slots, prunes old
   * finished jobs, and claims and starts as many due jobs as there are free slots. Returns how
   * many it started; they keep running after it returns.
   */
  tick(): Promise<number> {
    this.ticking ??= this.pass().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  /** One pass, then waits for every job it started: for tests and one-shot tools. */
  async runOnce(): Promise<number> {
    const started = await this.tick();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    return started;
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for running handlers, then aborts the rest and gives
   * their jobs back (due now, the attempt not counted) so another instance takes them at once
   * instead of after the lease.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    await this.ticking?.catch(() => undefined);
    const all = () => Promise.allSettled([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const job of this.running.values()) {
      job.released = true;
      job.abort.abort(new Error('the portal is stopping'));
      try {
        await releaseJob(this.o.db, job.claim, this.nowIso());
      } catch (err) {
        this.o.log.error({ err, job_id: job.claim.id }, 'job could not be released; it runs again when its lease ends');
      }
    }
    await all();
  }

  private later(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), delayMs);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    if (this.stopping) return;
    let started = 0;
    try {
      started = await this.tick();
    } catch (err) {
      this.o.log.error({ err }, 'job worker could not poll the queue');
    }
    if (this.stopping) return;
    if (started > 0) {
      this.idleDelayMs = this.o.pollMs;
      // Full: a finishing job polls again (see run), so wait the plain interval here.
      this.later(this.running.size < this.o.concurrency ? 0 : this.o.pollMs);
    } else {
      this.later(this.idleDelayMs);
      this.idleDelayMs = Math.min(this.o.maxPollMs, this.idleDelayMs * 2);
    }
  }

  private async pass(): Promise<number> {
    const now = this.o.clock.now();
    const nowMs = now.getTime();
    const nowIso = now.toISOString();
    if (nowMs - this.lastBuryMs >= this.o.leaseMs / 2) {
      this.lastBuryMs = nowMs;
      const buried = await buryAbandoned(this.o.db, nowIso);
      if (buried > 0) this.o.log.error({ count: buried }, 'jobs died with their worker on their last attempt and are now dead');
    }
    await this.enqueueSlots(now);
    if (nowMs - this.lastPruneMs >= PRUNE_EVERY_MS) {
      this.lastPruneMs = nowMs;
      const before = new Date(nowMs - this.o.keepDoneMs).toISOString();
      for (let i = 0; i < PRUNE_BATCHES && (await pruneDone(this.o.db, before, PRUNE_BATCH)) === PRUNE_BATCH; i += 1);
    }
    let free = this.o.concurrency - this.running.size;
    if (free <= 0 || this.stopping) return 0;
    const claim = async (kinds: string[], limit: number) => {
      const rows = await claimJobs(this.o.db, this.o.dialect, { workerId: this.id, kinds, limit, now: nowIso, leaseUntil: new Date(nowMs + this.o.leaseMs).toISOString() });
      for (const row of rows) this.run(row);
      free -= rows.length;
      return rows.length;
    };
    let claimed = 0;
    // Kinds with a limit of their own take at most what it leaves them; the rest share what is free.
    const open: string[] = [];
    for (const kind of this.o.queue.kinds()) {
      if (kind.concurrency === null) {
        open.push(kind.kind);
        continue;
      }
      const busy = [...this.running.values()].filter((r) => r.kind === kind.kind).length;
      const room = Math.min(free, kind.concurrency - busy);
      if (room > 0) claimed += await claim([kind.kind], room);
    }
    if (free > 0) claimed += await claim(open, free);
    return claimed;
  }

  /**
   * Each recurring kind always has its next slot enqueued, keyed by the slot: every instance tries,
   * the unique (kind, key) index lets one insert win. Slots missed while no instance ran are not
   * caught up; the one enqueued before the outage runs once, late.
   */
  private async enqueueSlots(now: Date): Promise<void> {
    for (const kind of this.o.queue.kinds()) {
      if (!kind.schedule) continue;
      const slot = kind.schedule.nextSlot(now);
      const key = `slot:${slot.toISOString()}`;
      if (this.scheduledSlot.get(kind.kind) === key) continue;
      await this.o.queue.enqueue(this.o.db, { kind: kind.kind, key, runAt: slot, payload: null });
      this.scheduledSlot.set(kind.kind, key);
    }
  }

  private run(row: JobRow): void {
    const kind = this.o.queue.kind(row.kind);
    const claim: Claim = { id: row.id, workerId: this.id, attempt: row.attempts };
    const abort = new AbortController();
    const job: Running = { kind: row.kind, claim, abort, released: false, done: Promise.resolve() };
    this.running.set(row.id, job);
    job.done = this.attempt(row, kind, job).finally(() => {
      this.running.delete(row.id);
      if (this.started && !this.stopping) this.later(0);
    });
  }

  private async attempt(row: JobRow, kind: DefinedKind | undefined, job: Running): Promise<void> {
    const { claim, abort } = job;
    let markedDone = false;
    let timeout: NodeJS.Timeout | undefined;
    try {
      if (!kind) throw new Error(`job kind "${row.kind}" is not defined in this instance`);
      const context: JobContext = {
        id: row.id,
        kind: row.kind,
        payload: JSON.parse(row.payload) as unknown,
        attempt: row.attempts,
        maxAttempts: row.max_attempts,
        slot: row.key?.startsWith('slot:') ? new Date(row.key.slice('slot:'.length)) : null,
        signal: abort.signal,
        markDone: async (trx) => {
          if (!(await completeJob(trx, claim, this.nowIso()))) throw new JobLeaseLost(row.id);
          markedDone = true;
        },
      };
      const stopped = new Promise<never>((_, reject) => {
        timeout = setTimeout(() => abort.abort(new Error(`the attempt took longer than ${kind.timeoutMs} ms`)), kind.timeoutMs);
        abort.signal.addEventListener('abort', () => reject(abort.signal.reason as Error), { once: true });
      });
      // Through then(): a handler that throws before its first await fails the attempt like any other.
      const handled = Promise.resolve().then(() => kind.handler(context));
      // A handler abandoned on timeout or shutdown may still settle later: nothing waits for it.
      handled.catch(() => undefined);
      await Promise.race([handled, stopped]);
      clearTimeout(timeout);
      if (markedDone) return;
      if (!(await completeJob(this.o.db, claim, this.nowIso()))) {
        this.o.log.warn({ job_id: row.id, kind: row.kind }, 'job finished after its lease was lost; another attempt owns it');
      }
    } catch (err) {
      clearTimeout(timeout);
      if (job.released) return;
      await this.fail(row, kind, claim, err);
    }
  }

  private async fail(row: JobRow, kind: DefinedKind | undefined, claim: Claim, err: unknown): Promise<void> {
    const now = this.o.clock.now();
    const error = describe(err);
    const last = claim.attempt >= row.max_attempts;
    const retryAt = last ? null : new Date(now.getTime() + retryDelayMs(claim.attempt, kind?.backoff ?? { baseMs: 60_000, maxMs: 60_000 }, this.o.random)).toISOString();
    try {
      const recorded = await failJob(this.o.db, claim, { now: now.toISOString(), error, retryAt });
      if (!recorded) return;
      this.onAttemptFailed?.(row.kind, last);
      const fields = { job_id: row.id, kind: row.kind, attempt: claim.attempt, max_attempts: row.max_attempts, error };
      if (last) this.o.log.error(fields, 'job failed its last attempt and is dead');
      else this.o.log.warn({ ...fields, retry_at: retryAt }, 'job failed; it will be retried');
    } catch (dbErr) {
      this.o.log.error({ err: dbErr, job_id: row.id }, 'job failure could not be recorded; it runs again when its lease ends');
    }
  }

  private async renewLeases(): Promise<void> {
    const until = new Date(this.o.clock.now().getTime() + this.o.leaseMs).toISOString();
    for (const job of this.running.values()) {
      try {
        if (!(await renewLease(this.o.db, job.claim, until))) job.abort.abort(new JobLeaseLost(job.claim.id));
      } catch (err) {
        // A database hiccup: the next renewal may succeed before the lease ends.
        this.o.log.warn({ err, job_id: job.claim.id }, 'job lease could not be renewed');
      }
    }
  }

  private nowIso(): string {
    return this.o.clock.now().toISOString();
  }
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
