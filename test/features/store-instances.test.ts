import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { startPortal, type TestPortal } from '../support/portal.js';
import { approve, upload } from '../support/review.js';
import { storeWorld } from '../support/store.js';

/** Polls every 50 ms until `ready` holds of what B answers; the milliseconds it took, or a failure after 3 s. */
async function until(what: string, ready: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await ready())) {
    if (Date.now() - started > 3000) throw new Error(`instance B never showed ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

async function offered(p: TestPortal, packageId: string): Promise<number[]> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${packageId}:0`, headers: { 'x-mosis-device': 'device-b-1' } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ updates: { version_code: number }[] }>().updates.map((u) => u.version_code);
}

async function detailVersion(p: TestPortal, packageId: string): Promise<number | null | 'missing'> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps/${packageId}`, headers: { 'x-mosis-device': 'device-b-1' } });
  if (res.statusCode === 404) return 'missing';
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ version: { version_code: number } | null }>().version?.version_code ?? null;
}

// PostgreSQL only: instances share a database there, and learn of each other's commits through LISTEN/NOTIFY.
/**
 * Two instances on one PostgreSQL database, as docs/operations.md deploys them: one DATA_DIR and one
 * PACKAGES_DIR (a shared volume), one clock; both stores started, B's model built and following the log.
 */
async function twoInstances(clock: TestClock) {
  const a = await startPortal('postgres', {}, { clock });
  const config = a.portal.config.database;
  if (config.dialect !== 'postgres') throw new Error('instance A is not on PostgreSQL');
  const shared = { DATABASE_URL: config.url, DATA_DIR: a.portal.config.dataDir, PACKAGES_DIR: a.portal.config.packagesDir };
  const b = await startPortal('postgres', shared, { clock }).catch(async (err: unknown) => {
    await a.stop();
    throw err;
  });
  expect(b.portal.config.dataDir).toBe(a.portal.config.dataDir);
  await a.portal.core.store.start();
  await b.portal.core.store.start();
  await b.portal.core.store.settled();
  return {
    A: a.portal,
    B: b.portal,
    stop: async () => {
      await b.stop();
      await a.stop();
    },
  };
}

// PostgreSQL only: instances share a database there, and learn of each other's commits through LISTEN/NOTIFY.
describe.skipIf(inject('postgresUrl') === null)('store: two instances on one PostgreSQL database', () => {
  it('serves a publish, a new version, a halt and a yank made through instance A from instance B within a second', async () => {
    const clock = new TestClock();
    const { A, B, stop } = await twoInstances(clock);
    try {
      const world = await storeWorld(A, clock);
      const { app, dev } = world;
      const pkg = app.package_id;
      expectProblem(await B.app.inject({ method: 'GET', url: `/v1/store/apps/${pkg}` }), 404, 'store_app_not_found');
      expect(await offered(B, pkg)).toEqual([]);

      const publish = async (versionCode: number) => {
        const version = await upload(A, dev, app, world.key, versionCode);
        await approve(A, world.reviewer, version.id);
        const res = await A.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${version.id}/publish`, headers: dev.auth, payload: { channel: 'stable', rollout_percent: 100 } });
        expect(res.statusCode, res.body).toBe(200);
        return version;
      };

      await publish(1);
      const first = await until('version 1', async () => (await offered(B, pkg)).join() === '1' && (await detailVersion(B, pkg)) === 1);
      expect(first).toBeLessThan(1000);
      const listed = await B.app.inject({ method: 'GET', url: '/v1/store/apps' });
      expect(listed.json<{ items: { package_id: string; version_code: number }[] }>().items).toMatchObject([{ package_id: pkg, version_code: 1 }]);

      const v2 = await publish(2);
      const second = await until('version 2', async () => (await offered(B, pkg)).join() === '2' && (await detailVersion(B, pkg)) === 2);
      expect(second).toBeLessThan(1000);
      const download = await B.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/2.mosis` });
      expect(download.statusCode).toBe(200);
      expect(download.rawPayload.equals(v2.file)).toBe(true);

      const halt = await A.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}/versions/${v2.id}/rollout`, headers: dev.auth, payload: { halted: true, reason: 'Crashes on start.' } });
      expect(halt.statusCode, halt.body).toBe(200);
      const halted = await until('the halt', async () => (await offered(B, pkg)).join() === '1' && (await detailVersion(B, pkg)) === 1);
      expect(halted).toBeLessThan(1000);

      const yank = await A.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${v2.id}/yank`, headers: dev.auth, payload: { reason: 'Crashes on start.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      const yanked = await until('the yank', async () => (await B.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/2.mosis` })).statusCode === 404);
      expect(yanked).toBeLessThan(1000);
    } finally {
      await stop();
    }
  });

  it('counts a device once a day whichever instance it downloads from; both publish the keys and serve the same signed index', async () => {
    const clock = new TestClock();
    const { A, B, stop } = await twoInstances(clock);
    try {
      const world = await storeWorld(A, clock);
      const { app } = world;
      await world.release(app, 1);
      await until('version 1', async () => (await detailVersion(B, app.package_id)) === 1);
      const url = `/v1/store/packages/${app.package_id}/1.mosis`;

      // A device checks its signature against the keys of whichever instance answered it.
      const served = await B.app.inject({ method: 'GET', url, headers: { 'x-mosis-device': 'device-roaming-1' } });
      expect(served.statusCode).toBe(200);
      const keyId = served.headers['x-mosis-store-key'] as string;
      const keys = (await B.app.inject({ method: 'GET', url: '/.well-known/mosis-store-keys.json' })).json<{ keys: { key_id: string }[] }>().keys;
      expect(keys.map((k) => k.key_id)).toContain(keyId);

      expect((await A.app.inject({ method: 'GET', url, headers: { 'x-mosis-device': 'device-roaming-1' } })).statusCode).toBe(200);
      await A.core.store.downloads.flush();
      await B.core.store.downloads.flush();
      const stats = await A.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/downloads`, headers: world.dev.auth });
      expect(stats.json()).toEqual({ items: [{ day: clock.now().toISOString().slice(0, 10), version_code: 1, downloads: 1 }] });

      // One catalog, one index: the same bytes under the same ETag from either instance, signed by a key both publish.
      await A.core.store.settled();
      await B.core.store.settled();
      const fromA = await A.app.inject({ method: 'GET', url: '/v1/store/index.json' });
      const fromB = await B.app.inject({ method: 'GET', url: '/v1/store/index.json' });
      expect(fromA.statusCode, fromA.body).toBe(200);
      expect(fromB.headers.etag).toBe(fromA.headers.etag);
      expect(fromB.rawPayload.equals(fromA.rawPayload)).toBe(true);
      expect(fromB.json()).toMatchObject({ format: 1, apps: [{ package_id: app.package_id, versions: [{ version_code: 1 }] }] });
      const indexKey = (await B.app.inject({ method: 'GET', url: '/v1/store/index.json.sig' })).headers['x-mosis-store-key'] as string;
      expect(keys.map((k) => k.key_id)).toContain(indexKey);
    } finally {
      await stop();
    }
  });
});
