import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type PortalDatabase } from '../../src/db/index.js';
import { EventConsumer, EventLog, appendEvent, type DomainEvent } from '../../src/events/index.js';
import { prepareMigratedDatabase, type TestDatabase } from '../support/portal.js';

/** The durable consumer's failure rules (events/event-consumer.ts), on SQLite: they do not differ by dialect. */

const at = new Date('2026-12-01T10:00:00.000Z');

describe('event consumer: failures', () => {
  let database: TestDatabase;
  let portal: PortalDatabase;
  let log: EventLog;
  const errors: string[] = [];
  const logger = { warn: () => undefined, error: (_obj: object, msg: string) => void errors.push(msg) };

  beforeEach(async () => {
    database = await prepareMigratedDatabase('sqlite');
    portal = openDatabase({ dialect: 'sqlite', file: database.databaseUrl.replace(/^sqlite:/, '') });
    log = new EventLog({ db: portal.db, pollIntervalMs: 60_000 });
    errors.length = 0;
  });
  afterEach(async () => {
    await log.stop();
    await portal.close();
    await database.cleanup();
  });

  const append = (n: number) => appendEvent(portal.db, { type: 'listing.changed', appId: 'app_1', actorId: null, payload: { n }, at });
  /** settle() until it stops throwing; answers how many attempts threw. */
  async function settleThroughFailures(consumer: EventConsumer, max = 20): Promise<number> {
    for (let thrown = 0; thrown < max; thrown += 1) {
      try {
        await consumer.settle();
        return thrown;
      } catch {
        // tried again, as the consumer's own retry would
      }
    }
    throw new Error('never settled');
  }

  it('skips an event only after its own handler threw ten times in a row, and handles every other one', async () => {
    const handled: number[] = [];
    const consumer = new EventConsumer({
      name: 'poison',
      db: portal.db,
      events: log,
      logger,
      handle: (_trx, event: DomainEvent) => {
        if (event.payload['n'] === 2) return Promise.reject(new Error('a bug this event trips'));
        handled.push(Number(event.payload['n']));
        return Promise.resolve();
      },
    });
    for (const n of [1, 2, 3]) await append(n);
    expect(await settleThroughFailures(consumer)).toBe(10);
    // 1 and 3 are done (1 may be handled in a batch that rolled back, then again alone: its effects commit once).
    expect(new Set(handled)).toEqual(new Set([1, 3]));
    expect(errors).toEqual(['event consumer: skipping an event that failed ten times']);
    expect(await consumer.position()).toBe(3);
  });

  it('skips nothing after a database that was away for a while: only a handler\'s own failures count', async () => {
    const handled: number[] = [];
    const consumer = new EventConsumer({
      name: 'transient',
      db: portal.db,
      events: log,
      logger,
      handle: (_trx, event: DomainEvent) => {
        handled.push(Number(event.payload['n']));
        return Promise.resolve();
      },
    });
    for (const n of [1, 2]) await append(n);
    // Twelve attempts that cannot even read the consumer's position (its table is away).
    await sql`alter table event_cursors rename to event_cursors_away`.execute(portal.db);
    for (let i = 0; i < 12; i += 1) await expect(consumer.settle()).rejects.toThrow();
    await sql`alter table event_cursors_away rename to event_cursors`.execute(portal.db);
    expect(await settleThroughFailures(consumer)).toBe(0);
    expect(handled).toEqual([1, 2]);
    expect(errors).toEqual([]);
  });
});
