import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { TestClock } from '../support/accounts.js';
import { expectProblem, type TestUser } from '../support/api.js';
import type { DeveloperKey } from '../support/packages.js';
import { describeEachDatabase, type TestPortal } from '../support/portal.js';
import { approve, upload, type Uploaded } from '../support/review.js';
import { secondStore, storeWorld } from '../support/store.js';

/**
 * The database away for real: a table the store reads is renamed, and renamed back (as
 * test/http/errors.test.ts does). Every query naming it fails until then, on both dialects.
 */
async function breakTable(p: TestPortal, table: string): Promise<void> {
  await sql`alter table ${sql.table(table)} rename to ${sql.table(`${table}_gone`)}`.execute(p.database.db);
}

async function restoreTable(p: TestPortal, table: string): Promise<void> {
  await sql`alter table ${sql.table(`${table}_gone`)} rename to ${sql.table(table)}`.execute(p.database.db);
}

/** How many log lines carry this message. */
function logged(p: TestPortal, message: string): number {
  return p.logs().split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length;
}

/** Waits (3 s at most) until the message has been logged `times` times. */
async function untilLogged(p: TestPortal, message: string, times: number): Promise<void> {
  const started = Date.now();
  while (logged(p, message) < times) {
    if (Date.now() - started > 3000) throw new Error(`"${message}" was logged ${logged(p, message)} times, not ${times}`);
    await sleep(10);
  }
}

/** Whether a promise has settled within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

/**
 * Uploads, approves and publishes a version through the API, as release() does, without settling
 * the store: the store is neither started by it nor waited for.
 */
async function publish(p: TestPortal, world: { dev: TestUser; key: DeveloperKey; reviewer: TestUser }, app: { id: string; package_id: string }, versionCode: number): Promise<Uploaded> {
  const version = await upload(p, world.dev, app, world.key, versionCode);
  await approve(p, world.reviewer, version.id);
  const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${version.id}/publish`, headers: world.dev.auth, payload: { channel: 'stable', rollout_percent: 100 } });
  expect(res.statusCode, res.body).toBe(200);
  return version;
}

interface Item {
  package_id: string;
  name: string;
  version_code: number | null;
}

async function catalog(p: { app: TestPortal['app'] }, query = 'sort=name'): Promise<{ status: number; items: Item[] }> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps?${query}` });
  return { status: res.statusCode, items: res.statusCode === 200 ? res.json<{ items: Item[] }>().items : [] };
}

/** The version a device without a rollout bucket is offered in an app's detail; 'missing' for 404. */
async function detailVersion(p: TestPortal, packageId: string): Promise<number | null | 'missing'> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps/${packageId}`, headers: { 'x-mosis-device': 'device-failures-1' } });
  if (res.statusCode === 404) return 'missing';
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ version: { version_code: number } | null }>().version?.version_code ?? null;
}

async function offered(p: TestPortal, packageId: string): Promise<number[]> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${packageId}:0`, headers: { 'x-mosis-device': 'device-failures-1' } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ updates: { version_code: number }[] }>().updates.map((u) => u.version_code);
}

/**
 * A second store on the portal's database, as a restarted instance has, served over HTTP by the
 * portal's own routes (buildApp on the same core with this store in it). Its catalog requests wait
 * `buildWaitMs` for the build instead of 10 s.
 */
async function servedSecondStore(p: TestPortal, buildWaitMs: number) {
  const second = await secondStore(p, { buildWaitMs });
  const app = await buildApp({ ...p.core, store: second.store });
  return {
    app,
    store: second.store,
    stop: async () => {
      await app.close();
      await second.stop();
    },
  };
}

const BUILD_FAILED = 'store: cannot build the read model, trying again';
const PATCH_FAILED = 'store: cannot read a changed app, trying again';

let clock: TestClock;

// Both dialects: the failures are the database's own errors (a missing table, a manifest it cannot parse), which differ by driver.
describeEachDatabase(
  'store: the database failing',
  (portal) => {
    it('tries the build again while the database fails, and once it answers serves the waiting catalog request and everything else', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const bravo = await world.newApp('com.failures.bravo', { name: 'Bravo' });
      const notes1 = await publish(p, world, world.app, 1);
      await publish(p, world, bravo, 1);
      await publish(p, world, bravo, 2);
      // Nothing has asked the store yet: it starts, cold, with the first store request below.
      expect(logged(p, 'store: catalog ordered')).toBe(0);

      await breakTable(p, 'apps');
      const waiting = catalog(p);
      // Three failures: 100 ms and 200 ms apart (the pause doubles).
      await untilLogged(p, BUILD_FAILED, 3);
      expect(await settledWithin(waiting, 0)).toBe(false);
      expect(logged(p, 'store: catalog ordered')).toBe(0);
      const attempts = p
        .logs()
        .split('\n')
        .filter((line) => line.includes(BUILD_FAILED))
        .map((line) => (JSON.parse(line) as { attempt: number }).attempt);
      expect(attempts.slice(0, 3)).toEqual([0, 1, 2]);

      await restoreTable(p, 'apps');
      // The request made while the database failed is answered (well within the 10 s wait).
      const answer = await waiting;
      expect(answer.status).toBe(200);
      expect(answer.items.map((i) => [i.package_id, i.version_code])).toEqual([
        ['com.failures.bravo', 2],
        ['com.example.notes', 1],
      ]);
      await p.core.store.settled();
      expect(logged(p, 'store: read model built')).toBe(1);
      // Each app once, with every version.
      expect(p.core.store.model.size).toBe(2);
      expect(await detailVersion(p, 'com.failures.bravo')).toBe(2);
      expect(await offered(p, 'com.failures.bravo')).toEqual([2]);
      expect(await offered(p, 'com.example.notes')).toEqual([1]);
      const superseded = await p.app.inject({ method: 'GET', url: '/v1/store/packages/com.failures.bravo/1.mosis' });
      expect(superseded.statusCode).toBe(200);
      const download = await p.app.inject({ method: 'GET', url: '/v1/store/packages/com.example.notes/1.mosis' });
      expect(download.statusCode).toBe(200);
      expect(download.rawPayload.equals(notes1.file)).toBe(true);
      const categories = await p.app.inject({ method: 'GET', url: '/v1/store/categories' });
      expect(categories.statusCode, categories.body).toBe(200);
      expect((await catalog(p, 'q=bravo')).items.map((i) => i.package_id)).toEqual(['com.failures.bravo']);

      // And it follows the log from where it started: a change made now is served.
      await world.release(world.app, 2);
      expect(await detailVersion(p, 'com.example.notes')).toBe(2);
      expect(logged(p, 'event log: a subscription ended with an error')).toBe(0);
    });

    it('starts the build over when it fails after ordering the catalog, and answers details and update checks meanwhile', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const bravo = await world.newApp('com.failures.bravo', { name: 'Bravo' });
      await publish(p, world, world.app, 1);
      // Bravo's version waits for review: not in the store, but the build's scan of every version reads it.
      const waiting = await upload(p, world.dev, bravo, world.key, 1);
      const { manifest } = await p.database.db.selectFrom('versions').select('manifest').where('id', '=', waiting.id).executeTakeFirstOrThrow();
      // A row the database cannot read the manifest of: the catalog (step one) is ordered, then the
      // version scan (step two) fails, on every attempt, until the row is mended.
      await p.database.db.updateTable('versions').set({ manifest: 'not json' }).where('id', '=', waiting.id).execute();
      await p.core.store.start();
      await untilLogged(p, BUILD_FAILED, 2);
      expect(logged(p, 'store: catalog ordered')).toBeGreaterThanOrEqual(2);
      expect(logged(p, 'store: read model built')).toBe(0);
      // A device's detail and update check do not wait for the build: the store reads the app itself.
      expect(await detailVersion(p, 'com.example.notes')).toBe(1);
      expect(await offered(p, 'com.example.notes')).toEqual([1]);

      await p.database.db.updateTable('versions').set({ manifest }).where('id', '=', waiting.id).execute();
      expect(await settledWithin(p.core.store.settled(), 6000)).toBe(true);
      expect(logged(p, 'store: read model built')).toBe(1);
      expect(p.core.store.model.complete).toBe(true);
      expect(p.core.store.model.size).toBe(1);
      expect((await catalog(p)).items.map((i) => [i.package_id, i.version_code])).toEqual([['com.example.notes', 1]]);
      expect(await detailVersion(p, 'com.failures.bravo')).toBe('missing');
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/packages/com.example.notes/1.mosis' })).statusCode).toBe(200);
    });

    it('keeps a change whose app cannot be read until the database answers, and every change after it', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const bravo = await world.newApp('com.failures.bravo', { name: 'Bravo' });
      await world.release(world.app, 1);
      await world.release(bravo, 1);
      const bravo2 = await world.release(bravo, 2);
      expect(await detailVersion(p, 'com.example.notes')).toBe(1);
      expect(await detailVersion(p, 'com.failures.bravo')).toBe(2);

      // Reading a changed app reads its downloads too: with them gone, every patch fails, while
      // what the developer does (publish, yank, edit the listing) still works.
      await breakTable(p, 'store_downloads');
      await publish(p, world, world.app, 2);
      await untilLogged(p, PATCH_FAILED, 2);
      const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${bravo.id}/versions/${bravo2.id}/yank`, headers: world.dev.auth, payload: { reason: 'Crashes on start.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      const rename = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${bravo.id}`, headers: world.dev.auth, payload: { name: 'Aardvark' } });
      expect(rename.statusCode, rename.body).toBe(200);
      p.events.notify();
      await untilLogged(p, PATCH_FAILED, 3);
      // Meanwhile devices get what the store had: nothing changed yet, nothing skipped either.
      const settled = p.core.store.settled();
      expect(await settledWithin(settled, 300)).toBe(false);
      expect(await detailVersion(p, 'com.example.notes')).toBe(1);
      expect(await detailVersion(p, 'com.failures.bravo')).toBe(2);
      // Every failure is the same (first) event, tried again: the ones behind it wait their turn.
      const events = p
        .logs()
        .split('\n')
        .filter((line) => line.includes(PATCH_FAILED))
        .map((line) => (JSON.parse(line) as { event: number }).event);
      expect(new Set(events).size).toBe(1);

      await restoreTable(p, 'store_downloads');
      expect(await settledWithin(settled, 3000)).toBe(true);
      // The publish, the yank and the rename, each served.
      expect(await detailVersion(p, 'com.example.notes')).toBe(2);
      expect(await offered(p, 'com.example.notes')).toEqual([2]);
      expect(await detailVersion(p, 'com.failures.bravo')).toBe(1);
      expect(await offered(p, 'com.failures.bravo')).toEqual([1]);
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/packages/com.failures.bravo/2.mosis' })).statusCode).toBe(404);
      expect((await catalog(p)).items.map((i) => [i.package_id, i.name, i.version_code])).toEqual([
        ['com.failures.bravo', 'Aardvark', 1],
        ['com.example.notes', expect.any(String), 2],
      ]);

      // The subscription goes on: a later change is served too.
      await world.release(bravo, 3);
      expect(await detailVersion(p, 'com.failures.bravo')).toBe(3);
      expect(logged(p, 'event log: a subscription ended with an error')).toBe(0);
    });

    it('answers catalog pages 503 store_starting with Retry-After while the catalog cannot be ordered, and serves them once it can', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      await world.release(world.app, 1);
      await breakTable(p, 'apps');
      const second = await servedSecondStore(p, 300);
      try {
        for (const url of ['/v1/store/apps', '/v1/store/apps?sort=name', '/v1/store/categories']) {
          const started = Date.now();
          const res = await second.app.inject({ method: 'GET', url });
          expectProblem(res, 503, 'store_starting');
          // The store's own 5 s, not the common handler's 30 s (which yields to a route's own).
          expect(res.headers['retry-after']).toBe('5');
          // It waited for the build, and not much longer.
          expect(Date.now() - started).toBeGreaterThanOrEqual(290);
          expect(Date.now() - started).toBeLessThan(2000);
        }
        expect(logged(p, BUILD_FAILED)).toBeGreaterThan(0);

        await restoreTable(p, 'apps');
        const started = Date.now();
        let answer = await catalog(second);
        while (answer.status === 503 && Date.now() - started < 3000) answer = await catalog(second);
        expect(answer.status).toBe(200);
        expect(answer.items.map((i) => [i.package_id, i.version_code])).toEqual([['com.example.notes', 1]]);
        expect((await second.app.inject({ method: 'GET', url: '/v1/store/categories' })).statusCode).toBe(200);
      } finally {
        await second.stop();
      }
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
