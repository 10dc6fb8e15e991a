import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateToLatest, openDatabase, type Db, type PortalDatabase } from '../../src/db/index.js';
import { EventLog, appendEvent, latestEventId, readEventsAfter, type DomainEvent, type EventLogOptions } from '../../src/events/index.js';
import { prepareDatabase, withPg, type TestDatabase } from '../support/portal.js';

const at = new Date('2026-12-01T10:00:00.000Z');

async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Ids in the table above `after`: what every follower must have seen, no more, no less. */
async function committedIds(db: Db, after: number): Promise<number[]> {
  return (await readEventsAfter(db, after, 1000)).map((e) => e.id);
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && inject('postgresUrl') === null)(`domain event log [${dialect}]`, () => {
    let database: TestDatabase;
    let portalDb: PortalDatabase;
    let db: Db;
    const opened: { stop(): Promise<void> }[] = [];

    function openLog(options: Partial<EventLogOptions> = {}): EventLog {
      const log = new EventLog({ db, pollIntervalMs: 60_000, ...options });
      opened.push(log);
      return log;
    }

    /** One committed event, in a transaction of its own. */
    async function appendOne(n = 0): Promise<number> {
      return appendEvent(db, { type: 'listing.changed', appId: 'app_1', payload: { n }, at });
    }

    beforeAll(async () => {
      database = await prepareDatabase(dialect);
      portalDb = openDatabase(
        dialect === 'sqlite' ? { dialect, file: path.join(database.dataDir, 'portal.db') } : { dialect, url: database.databaseUrl },
      );
      db = portalDb.db;
      await migrateToLatest(db);
    });
    afterEach(async () => {
      for (const log of opened.splice(0)) await log.stop();
    });
    afterAll(async () => {
      await portalDb.close();
      await database.cleanup();
    });

    it("appends in the caller's transaction, at the caller's clock, and reads back in id order", async () => {
      const start = await latestEventId(db);
      await db.transaction().execute(async (trx) => {
        await appendEvent(trx, { type: 'app.created', appId: 'app_1', actorId: 'usr_1', payload: { name: 'Hello' }, at });
        await appendEvent(trx, { type: 'listing.changed', appId: 'app_1', actorId: 'usr_1', payload: { fields: ['title'] }, at });
      });
      // Outside a transaction the append opens its own, so the PostgreSQL lock still covers the insert.
      await appendEvent(db, { type: 'app.deleted', appId: 'app_1', payload: {}, at });

      const events = await readEventsAfter(db, start, 10);
      expect(events.map((e) => [e.type, e.appId, e.actorId, e.payload, e.createdAt])).toEqual([
        ['app.created', 'app_1', 'usr_1', { name: 'Hello' }, at.toISOString()],
        ['listing.changed', 'app_1', 'usr_1', { fields: ['title'] }, at.toISOString()],
        ['app.deleted', 'app_1', null, {}, at.toISOString()],
      ]);
      expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
      expect(await readEventsAfter(db, start, 2)).toHaveLength(2);
    });

    it('refuses an unknown type or an oversized payload and stores nothing', async () => {
      const start = await latestEventId(db);
      await expect(appendEvent(db, { type: 'app.renamed' as never, payload: {}, at })).rejects.toThrow(/Unknown event type/);
      await expect(appendEvent(db, { type: 'app.created', payload: { blob: 'x'.repeat(20_000) }, at })).rejects.toThrow(/larger than/);
      expect(await committedIds(db, start)).toEqual([]);
    });

    it('refuses a position that is not a whole number of at least 0', async () => {
      const log = openLog();
      await log.start();
      for (const position of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(log.follow(position, () => undefined).done).rejects.toThrow(/Invalid event position/);
      }
      expect(log.stats().followers).toBe(0);
    });

    it('a rolled-back transaction leaves no event, and followers never see it', async () => {
      const start = await latestEventId(db);
      const log = openLog();
      await log.start();
      const seen: DomainEvent[] = [];
      const subscription = log.follow(start, (e) => void seen.push(e));

      await expect(
        db.transaction().execute(async (trx) => {
          await appendEvent(trx, { type: 'version.submitted', appId: 'app_1', payload: { version: '1.0.0' }, at });
          await appendEvent(trx, { type: 'version.checked', appId: 'app_1', payload: { version: '1.0.0' }, at });
          throw new Error('the upload failed after the events were appended');
        }),
      ).rejects.toThrow('the upload failed');
      log.notify();
      const kept = await appendOne();
      log.notify();

      await until('the committed event', () => seen.length === 1);
      expect(await committedIds(db, start)).toEqual([kept]);
      expect(seen.map((e) => [e.id, e.type])).toEqual([[kept, 'listing.changed']]);
      await subscription.stop();
    });

    it('a reader that has seen id N never misses an event with an id ≤ N committed later (concurrent writers)', async () => {
      const start = await latestEventId(db);
      const writers = 40;
      let writing = true;
      const seen: number[] = [];
      let backwards = 0;
      const reader = (async () => {
        let last = start;
        // A tight loop, as a follower under load would read: every read asks only for ids above the last seen.
        for (;;) {
          const done = !writing;
          for (const event of await readEventsAfter(db, last, 1000)) {
            if (event.id <= last) backwards++;
            seen.push(event.id);
            last = event.id;
          }
          if (done) return;
          if (dialect === 'sqlite') await sleep(0);
        }
      })();
      await Promise.all(
        Array.from({ length: writers }, (_, i) =>
          db.transaction().execute(async (trx) => {
            await appendEvent(trx, { type: 'version.published', appId: `app_${i}`, payload: { i }, at });
            // Every other writer stays in its transaction after drawing its id, so without
            // serialization later ids commit first.
            if (i % 2 === 0) {
              if (dialect === 'postgres') await sql`select pg_sleep(0.03)`.execute(trx);
              else await sleep(3);
            }
          }),
        ),
      );
      writing = false;
      await reader;
      const committed = await committedIds(db, start);
      expect(committed).toHaveLength(writers);
      expect(backwards).toBe(0);
      expect(seen).toEqual(committed);
    });

    it('every follower gets every event once, in order, and catches up after it stops', async () => {
      const start = await latestEventId(db);
      const log = openLog();
      await log.start();
      const first: number[] = [];
      const subscription = log.follow(start, (e) => void first.push(e.id));
      const iterated: number[] = [];
      const abort = new AbortController();
      const iterating = (async () => {
        for await (const event of log.events(start, { signal: abort.signal })) iterated.push(event.id);
      })();

      for (let n = 0; n < 15; n++) {
        await appendOne(n);
        log.notify();
      }
      await until('15 events', () => first.length === 15 && iterated.length === 15);
      await subscription.stop();
      const resumeAt = subscription.position;

      // Committed while the first follower is away (a dropped SSE client, a restarted consumer).
      for (let n = 0; n < 10; n++) {
        await appendOne(n);
        log.notify();
      }
      const resumed: number[] = [];
      const again = log.follow(resumeAt, (e) => void resumed.push(e.id));
      await until('the resumed follower to catch up', () => resumed.length === 10 && iterated.length === 25);
      abort.abort();
      await iterating;
      await again.stop();

      const committed = await committedIds(db, start);
      expect([...first, ...resumed]).toEqual(committed);
      expect(iterated).toEqual(committed);
      expect(log.stats().followers).toBe(0);
    });

    it('a slow follower reads by id instead of buffering without bound', async () => {
      const start = await latestEventId(db);
      const log = openLog({ batchSize: 3, bufferSize: 4 });
      await log.start();
      const seen: number[] = [];
      let mostBuffered = 0;
      const subscription = log.follow(start, async (e) => {
        seen.push(e.id);
        mostBuffered = Math.max(mostBuffered, log.stats().buffered);
        await sleep(2);
      });
      // Ten at a time: each commit hands the shared reader more than the follower may hold.
      for (let n = 0; n < 4; n++) {
        await db.transaction().execute(async (trx) => {
          for (let i = 0; i < 10; i++) await appendEvent(trx, { type: 'version.checked', payload: { n, i }, at });
        });
        log.notify();
        mostBuffered = Math.max(mostBuffered, log.stats().buffered);
      }
      await until('the slow follower to catch up', () => seen.length === 40);
      await subscription.stop();
      expect(seen).toEqual(await committedIds(db, start));
      expect(mostBuffered).toBeLessThanOrEqual(4);
    });

    it('the poll finds events committed without notify()', async () => {
      const start = await latestEventId(db);
      const log = openLog({ pollIntervalMs: 50 });
      await log.start();
      const seen: number[] = [];
      const subscription = log.follow(start, (e) => void seen.push(e.id));
      await until('the follower to go live', () => log.stats().followers === 1);
      await sleep(20);
      const id = await appendOne();
      await until('the polled event', () => seen.length === 1);
      expect(seen).toEqual([id]);
      await subscription.stop();
    });

    it.skipIf(dialect !== 'postgres')(
      'in-process and cross-instance followers see every event after their LISTEN connections are cut',
      async () => {
        const start = await latestEventId(db);
        const url = database.databaseUrl;
        const tag = `mosis-events-test-${process.pid}-${Date.now()}`;
        // Instance B: a pool and a log of its own, like a second portal on the same database. No
        // poll to speak of: it learns of A's commits only through LISTEN/NOTIFY and its catch-up reads.
        const other = openDatabase({ dialect: 'postgres', url });
        try {
          const a = openLog({ postgresUrl: url, listenerName: `${tag}-a` });
          const b = openLog({ db: other.db, postgresUrl: url, listenerName: `${tag}-b` });
          await a.start();
          await b.start();
          expect(a.stats().listening && b.stats().listening).toBe(true);
          const onA: number[] = [];
          const onB: number[] = [];
          const followA = a.follow(start, (e) => void onA.push(e.id));
          const followB = b.follow(start, (e) => void onB.push(e.id));

          for (let n = 0; n < 5; n++) {
            await appendOne(n);
            a.notify();
          }
          await until('5 events on both instances', () => onA.length === 5 && onB.length === 5);

          const cut = async (): Promise<number> =>
            withPg(inject('postgresUrl') as string, async (client) => {
              const { rows } = await client.query<{ pid: number }>(
                'select pg_terminate_backend(pid) as ok, pid from pg_stat_activity where application_name like $1',
                [`${tag}-%`],
              );
              return rows.length;
            });
          expect(await cut()).toBe(2);
          await followA.stop();
          // Committed while both LISTEN connections are down and A's follower is gone; nobody calls notify().
          for (let n = 0; n < 5; n++) await appendOne(n);
          const againA: number[] = [];
          const resumedA = a.follow(followA.position, (e) => void againA.push(e.id));
          await until('both to catch up after reconnecting', () => againA.length === 5 && onB.length === 10);
          await until('both to LISTEN again', () => a.stats().listening && b.stats().listening);

          // And the new connections do LISTEN: these arrive by notification alone.
          for (let n = 0; n < 3; n++) await appendOne(n);
          await until('3 more on both instances', () => againA.length === 8 && onB.length === 13);

          await resumedA.stop();
          await followB.stop();
          const committed = await committedIds(db, start);
          expect([...onA, ...againA]).toEqual(committed);
          expect(onB).toEqual(committed);
        } finally {
          for (const log of opened.splice(0)) await log.stop();
          await other.close();
        }
      },
    );
  });
}
