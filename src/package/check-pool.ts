import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Piscina } from 'piscina';
import { workerModule } from '../shared/worker-module.js';
import type { CheckOptions } from './check.js';
import type { CheckTask } from './check-worker.js';
import { finding, type PackageCheckResult } from './findings.js';

/**
 * Package checks run on worker threads, never on the caller's thread: an upload is hostile until
 * checked, and even linear parsers take a while on megabytes of crafted input. Each check gets a
 * time budget and a heap limit; a package that passes either is refused with the blocking finding
 * `check_budget_exceeded`, its worker is thrown away (piscina starts a fresh one when needed) and
 * the portal goes on answering. Threads stop when idle, so an idle portal holds no parser in memory.
 */

export interface CheckBudget {
  /** Wall-clock milliseconds one package's checks may run (waiting for a thread not counted). */
  timeMs: number;
  /** Heap of a check thread, in MiB. */
  memoryMb: number;
  /** Packages checked at once. */
  threads: number;
  /** Checks that may wait for a thread; one more is refused with ChecksBusyError. */
  queue: number;
}

export const DEFAULT_CHECK_BUDGET: Readonly<CheckBudget> = Object.freeze({
  timeMs: 60_000,
  memoryMb: 512,
  // One core stays with the server (and the upload streaming in) on a small NAS.
  threads: Math.max(1, Math.min(4, availableParallelism() - 1)),
  queue: 32,
});

/** Too many packages are waiting to be checked; the caller should try again later. */
export class ChecksBusyError extends Error {
  constructor(readonly waiting: number) {
    super(`${waiting} packages are already waiting to be checked`);
  }
}

const OVER_TIME = Symbol('over time');
const NOT_STARTED = Symbol('not started');
// A worker thread loads in well under a second; this only ends a wait for one that never comes.
const STARTUP_MS = 60_000;
/** Why a check was ended when its worker failed outside it: that failure, not the abort. */
class WorkerFailure {
  constructor(readonly error: unknown) {}
}

// How long a thread stays after its last check before it exits.
const IDLE_MS = 30_000;

export class PackageChecker {
  private pool: Promise<Piscina<CheckTask, PackageCheckResult>> | null = null;
  /** Checks handed to the pool that no worker has taken yet, each with the controller that ends it. */
  private readonly waiting = new Set<AbortController>();
  private readonly slots: LimitFunction;
  /** Checks running or waiting for a thread. */
  private admitted = 0;

  constructor(readonly budget: Readonly<CheckBudget> = DEFAULT_CHECK_BUDGET) {
    this.slots = pLimit(budget.threads);
  }

  /**
   * Checks a .mosis file in a worker thread under the budget. Every problem of the package, the
   * budget included, is a finding; this throws for I/O errors on the file and ChecksBusyError.
   */
  async check(file: string, options: CheckOptions): Promise<PackageCheckResult> {
    if (this.admitted >= this.budget.threads + this.budget.queue) throw new ChecksBusyError(this.admitted - this.budget.threads);
    this.admitted++;
    try {
      return await this.slots(() => this.run(file, options));
    } finally {
      this.admitted--;
    }
  }

  /** Ends the threads; checks under way fail. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await (await pool)?.destroy();
  }

  private async run(file: string, options: CheckOptions): Promise<PackageCheckResult> {
    this.pool ??= this.createPool();
    const pool = await this.pool;
    const check = new AbortController();
    // The budget runs from the moment a worker takes the package: starting a fresh thread (after
    // an idle spell, or after one was thrown away) is the portal's cost, not the package's.
    const { port1: started, port2 } = new MessageChannel();
    let timer = setTimeout(() => check.abort(NOT_STARTED), STARTUP_MS);
    started.once('message', () => {
      this.waiting.delete(check);
      clearTimeout(timer);
      timer = setTimeout(() => check.abort(OVER_TIME), this.budget.timeMs);
    });
    this.waiting.add(check);
    try {
      return await pool.run({ file, options, started: port2 }, { signal: check.signal, transferList: [port2] });
    } catch (error) {
      const reason: unknown = check.signal.reason;
      if (reason === OVER_TIME) return overBudget(`the checks took longer than ${formatSeconds(this.budget.timeMs)}`);
      if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        return overBudget(`the checks needed more than ${this.budget.memoryMb} MiB of memory`);
      }
      if (reason === NOT_STARTED) throw new Error(`no package check worker started within ${formatSeconds(STARTUP_MS)}`, { cause: error });
      throw reason instanceof WorkerFailure ? reason.error : error;
    } finally {
      clearTimeout(timer);
      started.close();
      this.waiting.delete(check);
    }
  }

  private async createPool(): Promise<Piscina<CheckTask, PackageCheckResult>> {
    // Loaded with the first check: a portal that checks nothing keeps neither pool nor threads.
    const { Piscina } = await import('piscina');
    const pool = this.newPool(Piscina);
    // A worker that dies before it takes its task (say it cannot load) leaves that task pending for
    // ever, and unheard, the pool's 'error' event would end the whole process: fail the checks no
    // worker has taken. A check a worker took learns of that worker's end from the pool itself.
    pool.on('error', (error: unknown) => {
      for (const check of this.waiting) check.abort(new WorkerFailure(error));
    });
    return pool;
  }

  private newPool(Pool: typeof Piscina): Piscina<CheckTask, PackageCheckResult> {
    // From the compiled portal the worker is JavaScript; from the TypeScript sources (tests,
    // `npm run dev`) it needs the same loader as its parent, found from here rather than from the
    // working directory, which may be anywhere (the CLI's is the developer's).
    return new Pool<CheckTask, PackageCheckResult>({
      ...workerModule('package/check-worker'),
      minThreads: 0,
      maxThreads: this.budget.threads,
      idleTimeout: IDLE_MS,
      resourceLimits: { maxOldGenerationSizeMb: this.budget.memoryMb },
    });
  }
}

function overBudget(why: string): PackageCheckResult {
  const message = `${why}, so the package cannot be checked; no honest package comes near this limit`;
  return { ok: false, findings: [finding('check_budget_exceeded', message)], manifest: null, files: [] };
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
