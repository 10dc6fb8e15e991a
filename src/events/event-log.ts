import type { Db } from '../db/index.js';
import { PgEventListener, type EventLogLogger } from './pg-listener.js';
import { MAX_READ_BATCH, latestEventId, readEventsAfter, type DomainEvent } from './read.js';

export interface EventLogOptions {
  db: Db;
  /** On PostgreSQL: followers here also wake when another instance commits (LISTEN/NOTIFY). */
  postgresUrl?: string | undefined;
  /** application_name of the LISTEN connection. */
  listenerName?: string;
  /** Safety net: followers look for new events at least this often, whatever notifications say. */
  pollIntervalMs?: number;
  /** Events read per query, by the shared reader and by catching-up followers. */
  batchSize?: number;
  /** Events held in memory per follower; a follower that falls further behind reads by id instead. */
  bufferSize?: number;
  logger?: EventLogLogger | undefined;
}

/** What a service needs after committing a transaction that appended events. */
export interface EventNotifier {
  notify(): void;
}

export interface Subscription {
  /** Id of the last event the handler finished; resume from here after a restart. */
  readonly position: number;
  /** Settles when the subscription ends: resolves after stop(), rejects with the handler's error. */
  readonly done: Promise<void>;
  /** Stops delivering; waits for the handler call in progress to finish. */
  stop(): Promise<void>;
}

/**
 * One follower. While live, the shared reader pushes new events into its queue; when the queue
 * would exceed the buffer size the follower becomes lagging, drops its queue and reads by id from
 * the database until it has caught up, so a slow consumer costs queries, not memory.
 */
class Follower {
  queue: DomainEvent[] = [];
  lagging = true;
  private woken = false;
  private resolveWait: (() => void) | undefined;

  constructor(public position: number) {}

  push(batch: readonly DomainEvent[], bufferSize: number): void {
    if (this.lagging) return;
    if (this.queue.length + batch.length > bufferSize) {
      this.lagging = true;
      this.queue = [];
    } else {
      this.queue.push(...batch);
    }
    this.wake();
  }

  wake(): void {
    this.woken = true;
    this.resolveWait?.();
  }

  /** Resolves on the next wake (or at once if one came since the last wait), or after `ms`. */
  async wait(ms?: number): Promise<void> {
    if (!this.woken) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.resolveWait = resolve;
        if (ms !== undefined) timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      this.resolveWait = undefined;
    }
    this.woken = false;
  }
}

/**
 * Follows the `events` table by id and delivers every committed event, in id order, exactly once
 * to each follower. One shared reader per process reads new events when woken (notify() after a
 * local commit, a PostgreSQL notification from any instance, or the poll) and fans them out;
 * followers that start behind, or fall behind, read by id themselves.
 */
export class EventLog implements EventNotifier {
  private readonly db: Db;
  private readonly batchSize: number;
  private readonly bufferSize: number;
  private readonly pollIntervalMs: number;
  private readonly logger: EventLogLogger | undefined;
  private readonly listener: PgEventListener | undefined;
  private readonly followers = new Set<Follower>();
  /** Runs of follow(), awaited by stop() so no handler is still running when the database closes. */
  private readonly subscriptions = new Set<Promise<void>>();
  /** Highest id the shared reader has fanned out. */
  private head = 0;
  private started = false;
  private stopped = false;
  private dirty = false;
  private reading: Promise<void> | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(options: EventLogOptions) {
    this.db = options.db;
    this.batchSize = Math.min(Math.max(1, options.batchSize ?? 100), MAX_READ_BATCH);
    this.bufferSize = Math.max(this.batchSize, options.bufferSize ?? 1000);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.logger = options.logger;
    this.listener =
      options.postgresUrl === undefined
        ? undefined
        : new PgEventListener({
            connectionString: options.postgresUrl,
            applicationName: options.listenerName ?? 'mosis-portal-events',
            onWake: () => this.notify(),
            logger: options.logger,
          });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.head = await latestEventId(this.db);
    this.started = true;
    await this.listener?.start();
    this.poll = setInterval(() => this.notify(), this.pollIntervalMs);
    this.poll.unref();
  }

  /** Ends every follower and the LISTEN connection; call before closing the database. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    for (const follower of this.followers) follower.wake();
    await this.listener?.stop();
    await this.reading;
    await Promise.allSettled([...this.subscriptions]);
  }

  /** New events may have been committed: read them. Call after committing a transaction that appended. */
  notify(): void {
    if (!this.started || this.stopped) return;
    this.dirty = true;
    this.reading ??= this.readNew().finally(() => {
      this.reading = undefined;
      // A notify() that arrived after the loop's last check must not be lost.
      if (this.dirty) this.notify();
    });
  }

  /** Every event with an id above `afterId`, in order, until the signal aborts or the log stops. */
  async *events(afterId: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<DomainEvent, void, undefined> {
    if (!this.started) throw new Error('EventLog.start() must be called before following it');
    // The position may come from a client (SSE Last-Event-ID): callers validate it, this is the backstop.
    if (!Number.isSafeInteger(afterId) || afterId < 0) throw new RangeError(`Invalid event position ${String(afterId)}`);
    const { signal } = options;
    const follower = new Follower(afterId);
    const onAbort = (): void => follower.wake();
    signal?.addEventListener('abort', onAbort);
    this.followers.add(follower);
    const ended = (): boolean => this.stopped || signal?.aborted === true;
    try {
      while (!ended()) {
        const next = follower.queue.shift();
        if (next !== undefined) {
          if (next.id > follower.position) {
            follower.position = next.id;
            yield next;
          }
          continue;
        }
        if (follower.lagging) {
          let batch: DomainEvent[];
          try {
            batch = await readEventsAfter(this.db, follower.position, this.batchSize);
          } catch (err) {
            this.logger?.warn({ err }, 'event log: a follower cannot read, retrying');
            await follower.wait(this.pollIntervalMs);
            continue;
          }
          for (const event of batch) {
            if (ended()) return;
            follower.position = event.id;
            yield event;
          }
          // Everything the shared reader has fanned out is behind us: from here it pushes to us.
          if (follower.position >= this.head) follower.lagging = false;
          continue;
        }
        await follower.wait();
      }
    } finally {
      this.followers.delete(follower);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Calls `onEvent` for every event above `afterId`, one at a time; a throw ends the subscription. */
  follow(afterId: number, onEvent: (event: DomainEvent) => void | Promise<void>): Subscription {
    const abort = new AbortController();
    let position = afterId;
    const run = async (): Promise<void> => {
      for await (const event of this.events(afterId, { signal: abort.signal })) {
        await onEvent(event);
        position = event.id;
        if (abort.signal.aborted) return;
      }
    };
    const done = run();
    const settled = done.catch(() => undefined).finally(() => this.subscriptions.delete(settled));
    this.subscriptions.add(settled);
    // The error stays on `done` for whoever awaits it; an unawaited one is logged, not fatal.
    done.catch((err: unknown) => this.logger?.warn({ err, position }, 'event log: a subscription ended with an error'));
    return {
      get position() {
        return position;
      },
      done,
      stop: async () => {
        abort.abort();
        await done.catch(() => undefined);
      },
    };
  }

  /** For metrics and tests: followers, events held in their queues, the shared reader's position. */
  stats(): { followers: number; buffered: number; head: number; listening: boolean } {
    let buffered = 0;
    for (const follower of this.followers) buffered += follower.queue.length;
    return { followers: this.followers.size, buffered, head: this.head, listening: this.listener?.listening ?? false };
  }

  private async readNew(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      let batch: DomainEvent[];
      try {
        batch = await readEventsAfter(this.db, this.head, this.batchSize);
      } catch (err) {
        // The poll wakes us again; followers keep their positions meanwhile.
        this.logger?.warn({ err }, 'event log: cannot read new events');
        return;
      }
      const last = batch.at(-1);
      if (last === undefined) continue;
      this.head = last.id;
      for (const follower of this.followers) follower.push(batch, this.bufferSize);
      if (batch.length === this.batchSize) this.dirty = true;
    }
  }
}
