import { PostgresAdapter, sql } from 'kysely';
import type { Db, Executor } from '../db/index.js';
import type { EventLog, Subscription } from './event-log.js';
import type { EventLogLogger } from './pg-listener.js';
import { latestEventId, readEventsAfter, type DomainEvent } from './read.js';

export interface EventConsumerOptions {
  /** Its row in `event_cursors`: one position per name, shared by every instance. */
  name: string;
  db: Db;
  events: EventLog;
  logger: EventLogLogger & { error(obj: object, msg: string): void };
  /** Does an event's work in the consumer's transaction: effects and the new position commit together. */
  handle(trx: Executor, event: DomainEvent): Promise<void>;
  /** After each commit (wake the job worker, notify the event log of appended events). */
  afterCommit?(): void;
  /** Events per transaction. */
  batchSize?: number;
}

/** How long a failed batch waits before it is tried again, and how often it is tried before its first event is skipped. */
const RETRY_MS = 5_000;
const ATTEMPTS_BEFORE_SKIP = 10;
/** The safety net for a missed wake (the event log also polls every second). */
const POLL_MS = 10_000;

/**
 * A durable follower of the event log: every event is handled exactly once across restarts and
 * instances. The position lives in `event_cursors`; each batch runs in one transaction that locks
 * that row (PostgreSQL; SQLite has one writer), handles the events after it and moves it on, so an
 * event's effects (notification rows, jobs) commit if and only if the position passes it, and two
 * instances never handle the same event.
 *
 * A first start() begins at the newest event: a portal upgraded to a version with a new consumer
 * does not replay its history.
 */
export class EventConsumer {
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** The event whose handler threw last, and how many times in a row it did. */
  private failing: { id: number; times: number } | null = null;
  /** Events still to take one at a time after a failed batch (the failing one is among them). */
  private careful = 0;

  constructor(private readonly options: EventConsumerOptions) {}

  async start(): Promise<void> {
    const { db, name, events } = this.options;
    const latest = await latestEventId(db);
    await db.insertInto('event_cursors').values({ consumer: name, position: latest }).onConflict((oc) => oc.doNothing()).execute();
    await events.start();
    // The log wakes us for every new event; the work itself reads from the table under the lock.
    this.subscription = events.follow(latest, () => this.wake());
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.subscription?.stop();
    await this.running;
  }

  /** Handles what is waiting soon; calls while a drain runs make it go round once more. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.failed(err))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Handles every event committed before the call (tests; read-your-writes). Returns how many. */
  async settle(): Promise<number> {
    await this.running?.catch(() => undefined);
    let handled = 0;
    for (;;) {
      const n = await this.batch();
      handled += n;
      if (n === 0) return handled;
    }
  }

  /** Where the consumer is (the last event whose effects committed). */
  async position(): Promise<number> {
    const row = await this.options.db.selectFrom('event_cursors').select('position').where('consumer', '=', this.options.name).executeTakeFirst();
    return Number(row?.position ?? 0);
  }

  private async drain(): Promise<void> {
    while (!this.stopped && (await this.batch()) > 0);
  }

  private async batch(): Promise<number> {
    const { db, name } = this.options;
    // After a failure, one event at a time: the one that fails is found, and those before it go on.
    const size = this.careful > 0 ? 1 : (this.options.batchSize ?? 20);
    const handled = await db.transaction().execute(async (trx) => {
      const position = await lockedPosition(trx, name);
      const events = await readEventsAfter(trx, position, size);
      const last = events.at(-1);
      if (last === undefined) return 0;
      for (const event of events) {
        // Only an event whose own handler threw ten times in a row is skipped (a bug it trips), so
        // that it cannot hold up every later one for good; a database that was away skips nothing.
        if (this.failing?.id === event.id && this.failing.times >= ATTEMPTS_BEFORE_SKIP) {
          this.options.logger.error({ consumer: name, event_id: event.id, type: event.type }, 'event consumer: skipping an event that failed ten times');
          continue;
        }
        try {
          await this.options.handle(trx, event);
        } catch (err) {
          this.failing = { id: event.id, times: this.failing?.id === event.id ? this.failing.times + 1 : 1 };
          throw err;
        }
      }
      await trx.updateTable('event_cursors').set({ position: last.id }).where('consumer', '=', name).execute();
      return events.length;
    });
    if (handled > 0) this.failing = null;
    if (handled > 0 && this.careful > 0) this.careful -= 1;
    if (handled > 0) this.options.afterCommit?.();
    return handled;
  }

  private failed(err: unknown): void {
    if (this.careful === 0) this.careful = this.options.batchSize ?? 20;
    this.options.logger.warn({ err, consumer: this.options.name, event_id: this.failing?.id, failures: this.failing?.times }, 'event consumer: a batch failed; it is tried again');
    if (this.stopped) return;
    setTimeout(() => this.wake(), RETRY_MS).unref();
  }
}

async function lockedPosition(trx: Executor, name: string): Promise<number> {
  const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
  const { rows } = postgres
    ? await sql<{ position: string | number }>`select position from event_cursors where consumer = ${name} for update`.execute(trx)
    : // SQLite: a write first, so the transaction holds the write lock from its start (waiting on
      // busy_timeout); a read that upgraded later could fail with SQLITE_BUSY against another process.
      await sql<{ position: number }>`update event_cursors set position = position where consumer = ${name} returning position`.execute(trx);
  const row = rows[0];
  if (row !== undefined) return Number(row.position);
  // start() (or a migration) makes the row at the newest event; a consumer run without either
  // (settle() in tests, on a database whose rows were reset) starts at the beginning.
  await trx.insertInto('event_cursors').values({ consumer: name, position: 0 }).onConflict((oc) => oc.doNothing()).execute();
  return lockedPosition(trx, name);
}
