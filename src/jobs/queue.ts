import type { Executor } from '../db/index.js';
import type { Clock, Ids } from '../shared/index.js';
import { defaultBackoff, type Backoff } from './backoff.js';
import { insertJob } from './jobs.repository.js';
import { Schedule } from './schedule.js';

/**
 * What a handler is given. Handlers run at least once and may run again after a crash, a lost
 * lease or a timeout, so their effects must be idempotent: key them on `id` (a unique row, an
 * "on conflict do nothing"), or make them in a transaction that also calls `markDone`.
 */
export interface JobContext<P = unknown> {
  readonly id: string;
  readonly kind: string;
  readonly payload: P;
  /** 1 on the first attempt; counts attempts cut short by a crash too. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** For a recurring job: the slot this run is for. */
  readonly slot: Date | null;
  /** Aborted when the worker stops waiting for this attempt: timeout, shutdown, or lease lost. */
  readonly signal: AbortSignal;
  /**
   * Marks the job done inside the handler's own transaction, so the effect and "done" commit
   * together: exactly once in effect for database work. Throws JobLeaseLost (rolling the
   * transaction back) when another worker has taken the job meanwhile.
   */
  markDone(trx: Executor): Promise<void>;
}

export type JobHandler<P> = (job: JobContext<P>) => Promise<void>;

export interface JobKind<P> {
  handler: JobHandler<P>;
  /** Attempts before the job is `dead` (default 10). */
  maxAttempts?: number;
  backoff?: Backoff;
  /** An attempt still running after this is abandoned and counted as failed (default 5 minutes). */
  timeoutMs?: number;
  /** Cron expression (UTC): the kind then runs once per slot across every instance. */
  schedule?: string;
  /**
   * At most this many jobs of the kind run at once in one worker (default: up to the worker's
   * concurrency). For kinds whose time is someone else's (a webhook receiver that never answers):
   * they can never take every slot from the portal's own work (mail, checks).
   */
  concurrency?: number;
}

export interface DefinedKind {
  readonly kind: string;
  readonly handler: JobHandler<unknown>;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly timeoutMs: number;
  readonly schedule: Schedule | null;
  readonly concurrency: number | null;
}

export interface NewJob {
  kind: string;
  /** Any JSON value; handlers receive it parsed. */
  payload?: unknown;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Overrides the kind's maximum. */
  maxAttempts?: number;
  /** At most one job of this kind with this key is ever enqueued (until the finished row is pruned). */
  key?: string;
}

export class JobLeaseLost extends Error {
  override readonly name = 'JobLeaseLost';
  constructor(readonly jobId: string) {
    super(`job ${jobId} is no longer held by this worker (its lease ran out and another worker took it)`);
  }
}

const KIND = /^[a-z][a-z0-9_.-]{0,63}$/;
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_KEY_LENGTH = 200;

/**
 * The kinds of job the portal knows, and how to enqueue one. Every instance defines every kind
 * (an instance with JOBS_ENABLED=false still enqueues); only instances with a worker run them.
 */
export class JobQueue {
  private readonly defined = new Map<string, DefinedKind>();

  constructor(private readonly deps: { clock: Clock; ids: Ids }) {}

  define<P>(kind: string, definition: JobKind<P>): void {
    if (!KIND.test(kind)) throw new Error(`job kind "${kind}" must match ${String(KIND)}`);
    if (this.defined.has(kind)) throw new Error(`job kind "${kind}" is defined twice`);
    const maxAttempts = definition.maxAttempts ?? 10;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`job kind "${kind}": maxAttempts must be a positive integer`);
    const timeoutMs = definition.timeoutMs ?? 5 * 60 * 1000;
    // setTimeout fires at once past 2^31 - 1 ms.
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) throw new Error(`job kind "${kind}": timeoutMs must be 1 to 2147483647`);
    const concurrency = definition.concurrency ?? null;
    if (concurrency !== null && (!Number.isInteger(concurrency) || concurrency < 1)) throw new Error(`job kind "${kind}": concurrency must be a positive integer`);
    this.defined.set(kind, {
      kind,
      handler: definition.handler as JobHandler<unknown>,
      maxAttempts,
      backoff: definition.backoff ?? defaultBackoff,
      timeoutMs,
      schedule: definition.schedule === undefined ? null : Schedule.parse(definition.schedule),
      concurrency,
    });
  }

  kind(kind: string): DefinedKind | undefined {
    return this.defined.get(kind);
  }

  kinds(): DefinedKind[] {
    return [...this.defined.values()];
  }

  /**
   * Adds a job in `db`, which should be the transaction of the change that causes it: a rollback
   * then takes the job with it. Returns the job's id, or null when `key` was already taken.
   */
  async enqueue(db: Executor, job: NewJob): Promise<string | null> {
    const kind = this.defined.get(job.kind);
    if (!kind) throw new Error(`job kind "${job.kind}" is not defined`);
    const payload = JSON.stringify(job.payload ?? null);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) throw new Error(`job payload of "${job.kind}" is over ${MAX_PAYLOAD_BYTES} bytes: store the data and enqueue its id`);
    if (job.key !== undefined && (job.key.length === 0 || job.key.length > MAX_KEY_LENGTH)) throw new Error(`job key must be 1 to ${MAX_KEY_LENGTH} characters`);
    const maxAttempts = job.maxAttempts ?? kind.maxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('maxAttempts must be a positive integer');
    const now = this.deps.clock.now().toISOString();
    const id = this.deps.ids.id();
    const inserted = await insertJob(db, {
      id,
      kind: job.kind,
      key: job.key ?? null,
      payload,
      state: 'queued',
      attempts: 0,
      max_attempts: maxAttempts,
      run_at: (job.runAt ?? this.deps.clock.now()).toISOString(),
      created_at: now,
      updated_at: now,
    });
    return inserted ? id : null;
  }
}
