import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mayGet, rolloutBasisPoints, rolloutBucket, type DeviceProfile, type RolloutCandidate } from '../../src/features/store/rollout.js';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { describeEachDatabase, type TestPortal } from '../support/portal.js';
import { storeWorld } from '../support/store.js';

/** The bucket as the spec writes it for device makers: first 4 bytes big-endian of SHA-256(`device:package:code`) mod 10 000. */
function specBucket(device: string, packageId: string, versionCode: number): number {
  return createHash('sha256').update(`${device}:${packageId}:${versionCode}`).digest().readUInt32BE(0) % 10_000;
}

const inside = (device: string, packageId: string, versionCode: number, percent: number) => specBucket(device, packageId, versionCode) < percent * 100;

describe('store rollout: buckets', () => {
  const devices = Array.from({ length: 10_000 }, (_, i) => `device-${i.toString(36)}-${(i * 7919) % 10_007}`);
  const packageId = 'com.example.notes';
  const candidate = (percent: number): RolloutCandidate => ({ versionCode: 7, beta: false, halted: false, basisPoints: rolloutBasisPoints(percent), minPlatform: 0 });
  const device = (deviceId: string): DeviceProfile => ({ beta: false, platform: null, deviceId });

  it('is the documented SHA-256 bucket, the same every time for a device, and different per version and app', () => {
    for (const d of devices.slice(0, 500)) {
      expect(rolloutBucket(d, packageId, 7)).toBe(specBucket(d, packageId, 7));
      expect(rolloutBucket(d, packageId, 7)).toBe(rolloutBucket(d, packageId, 7));
    }
    // Independent between versions and apps: a device unlucky for one version is not unlucky for all.
    const sameForNextVersion = devices.filter((d) => rolloutBucket(d, packageId, 7) === rolloutBucket(d, packageId, 8)).length;
    const sameForOtherApp = devices.filter((d) => rolloutBucket(d, packageId, 7) === rolloutBucket(d, 'com.example.other', 7)).length;
    expect(sameForNextVersion).toBeLessThan(10);
    expect(sameForOtherApp).toBeLessThan(10);
  });

  it.each([1, 10, 25, 50, 90])('puts within 2 points of %i %% of 10 000 devices inside a rollout of that share', (percent) => {
    const share = (devices.filter((d) => mayGet(candidate(percent), device(d), packageId)).length / devices.length) * 100;
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(2);
  });

  it('never takes a version from a device when the rollout is raised (10 → 25 → 50 → 100)', () => {
    const steps = [10, 25, 50, 100];
    let previous = new Set<string>();
    for (const percent of steps) {
      const now = new Set(devices.filter((d) => mayGet(candidate(percent), device(d), packageId)));
      for (const d of previous) expect(now.has(d), `${d} left at ${percent} %`).toBe(true);
      expect(now.size).toBeGreaterThan(previous.size);
      previous = now;
    }
    expect(previous.size).toBe(devices.length);
  });

  it('offers a halted rollout to nobody, and a staged one to nobody without a device id', () => {
    const halted = { ...candidate(100), halted: true };
    expect(devices.slice(0, 1000).some((d) => mayGet(halted, device(d), packageId))).toBe(false);
    expect(mayGet(candidate(99.99), { beta: false, platform: null, deviceId: null }, packageId)).toBe(false);
    expect(mayGet(candidate(100), { beta: false, platform: null, deviceId: null }, packageId)).toBe(true);
  });
});

let clock: TestClock;

interface Offer {
  package_id: string;
  version_code: number;
}

// Both dialects: the read model is patched from the event log, whose delivery and the version rows it re-reads (rollout, halt, yank) differ by dialect.
describeEachDatabase(
  'store rollout: what the update check offers',
  (portal) => {
    async function check(p: TestPortal, pkgs: string, headers: Record<string, string> = {}): Promise<Offer[]> {
      const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${pkgs}`, headers });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['cache-control']).toBe('private, no-cache');
      return res.json<{ updates: Offer[] }>().updates;
    }
    const codes = (offers: Offer[]) => offers.map((o) => `${o.package_id}:${o.version_code}`);

    it('offers a staged version to the devices inside it, keeps them when raised, and offers nothing new when halted', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const app = await world.newApp('com.example.rollout');
      const pkg = app.package_id;
      await world.release(app, 1);
      const v2 = await world.release(app, 2, { rollout: 30 });
      const devices = Array.from({ length: 300 }, (_, i) => `dev-${i}`);
      const offeredV2 = async (installed: number) => {
        const got = new Set<string>();
        for (const d of devices) {
          const offers = await check(p, `${pkg}:${installed}`, { 'x-mosis-device': d });
          if (offers.length > 0) {
            expect(codes(offers), d).toEqual([`${pkg}:2`]);
            got.add(d);
          }
        }
        return got;
      };

      const at30 = await offeredV2(1);
      expect([...at30].sort()).toEqual(devices.filter((d) => inside(d, pkg, 2, 30)).sort());
      expect(at30.size).toBeGreaterThanOrEqual(60);
      expect(at30.size).toBeLessThanOrEqual(120);
      // Outside the rollout, a device on nothing gets the full release instead.
      const outside = devices.find((d) => !at30.has(d)) as string;
      const insider = [...at30][0] as string;
      expect(codes(await check(p, `${pkg}:0`, { 'x-mosis-device': outside }))).toEqual([`${pkg}:1`]);
      expect(codes(await check(p, `${pkg}:0`, { 'x-mosis-device': insider }))).toEqual([`${pkg}:2`]);
      // The detail agrees with the update check.
      const detail = (d?: string) => p.app.inject({ method: 'GET', url: `/v1/store/apps/${pkg}`, headers: d ? { 'x-mosis-device': d } : {} });
      expect((await detail(insider)).json()).toMatchObject({ version: { version_code: 2 } });
      expect((await detail(outside)).json()).toMatchObject({ version: { version_code: 1 } });
      // Without a device id only a full rollout is offered.
      expect(codes(await check(p, `${pkg}:1`))).toEqual([]);
      expect(codes(await check(p, `${pkg}:0`))).toEqual([`${pkg}:1`]);
      expect((await detail()).json()).toMatchObject({ version: { version_code: 1 } });
      // A catalog item shows the version everyone gets: the full release, not the staged one.
      const item = async () => (await p.app.inject({ method: 'GET', url: '/v1/store/apps?sort=name' })).json<{ items: { package_id: string; version_code: number | null }[] }>().items.find((i) => i.package_id === pkg);
      expect(await item()).toMatchObject({ version_code: 1, version: '1.0.1' });

      const rollout = (payload: object) => p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}/versions/${v2.id}/rollout`, headers: world.dev.auth, payload });
      expect((await rollout({ rollout_percent: 60 })).statusCode).toBe(200);
      await p.core.store.settled();
      const at60 = await offeredV2(1);
      for (const d of at30) expect(at60.has(d), `${d} lost version 2 when the rollout was raised`).toBe(true);
      expect([...at60].sort()).toEqual(devices.filter((d) => inside(d, pkg, 2, 60)).sort());

      const halt = await rollout({ halted: true, reason: 'Crashes on start.' });
      expect(halt.statusCode, halt.body).toBe(200);
      await p.core.store.settled();
      expect((await offeredV2(1)).size).toBe(0);
      for (const d of devices.slice(0, 40)) {
        expect(codes(await check(p, `${pkg}:0`, { 'x-mosis-device': d })), d).toEqual([`${pkg}:1`]);
        expect(await check(p, `${pkg}:2`, { 'x-mosis-device': d })).toEqual([]);
      }
      expect((await detail(insider)).json()).toMatchObject({ version: { version_code: 1 } });
      expect(await item()).toMatchObject({ version_code: 1 });

      // Resumed and raised to everyone: every device, and the catalog, get version 2.
      expect((await rollout({ halted: false })).statusCode).toBe(200);
      expect((await rollout({ rollout_percent: 100 })).statusCode).toBe(200);
      await p.core.store.settled();
      expect(codes(await check(p, `${pkg}:1`))).toEqual([`${pkg}:2`]);
      expect(codes(await check(p, `${pkg}:1`, { 'x-mosis-device': outside }))).toEqual([`${pkg}:2`]);
      expect(await item()).toMatchObject({ version_code: 2, version: '1.0.2' });
    });

    it('follows channel, platform version and yanks; answers both request forms alike; refuses malformed ones', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const app = await world.newApp('com.example.channels');
      const pkg = app.package_id;
      await world.release(app, 1);
      await world.release(app, 2, { channel: 'beta' });
      const v3 = await world.release(app, 3, { minMosisVersion: '2.0.0' });

      const offered = async (installed: number, headers: Record<string, string> = {}) => codes(await check(p, `${pkg}:${installed}`, headers));
      const beta = { 'x-mosis-channel': 'beta' };
      expect(await offered(0)).toEqual([`${pkg}:3`]);
      expect(await offered(0, { 'x-mosis-channel': 'stable' })).toEqual([`${pkg}:3`]);
      expect(await offered(0, beta)).toEqual([`${pkg}:3`]);
      expect(await offered(0, { 'x-mosis-version': '2.0.0' })).toEqual([`${pkg}:3`]);
      expect(await offered(0, { 'x-mosis-version': '2.1.0-rc.1' })).toEqual([`${pkg}:3`]);
      expect(await offered(0, { 'x-mosis-version': '1.9.9' })).toEqual([`${pkg}:1`]);
      expect(await offered(0, { 'x-mosis-version': '1.0.0' })).toEqual([`${pkg}:1`]);
      expect(await offered(0, { 'x-mosis-version': '1.0.0', ...beta })).toEqual([`${pkg}:2`]);
      expect(await offered(1, { 'x-mosis-version': '1.0.0' })).toEqual([]);
      // The sample app itself needs 1.0.0: an older platform is offered nothing at all.
      expect(await offered(0, { 'x-mosis-version': '0.9.0', ...beta })).toEqual([]);
      expect(await offered(2, { 'x-mosis-version': '1.0.0', ...beta })).toEqual([]);
      expect(await offered(3)).toEqual([]);
      expect(await offered(99)).toEqual([]);
      const detail = await p.app.inject({ method: 'GET', url: `/v1/store/apps/${pkg}`, headers: { 'x-mosis-version': '1.0.0', ...beta } });
      expect(detail.json()).toMatchObject({ version: { version_code: 2, channel: 'beta' } });

      const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${v3.id}/yank`, headers: world.dev.auth, payload: { reason: 'Loses notes.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      await p.core.store.settled();
      // Version 2 keeps the app published (live on beta); the superseded version 1 is stable's again.
      expect(await offered(0, beta)).toEqual([`${pkg}:2`]);
      expect(await offered(0, { 'x-mosis-version': '3.0.0' })).toEqual([`${pkg}:1`]);
      expect(await offered(1)).toEqual([]);
      for (let i = 0; i < 50; i += 1) {
        expect(await offered(0, { 'x-mosis-device': `dev-${i}`, 'x-mosis-version': '9.0.0', ...beta })).toEqual([`${pkg}:2`]);
      }

      // An app with only a beta: listed, but stable devices get nothing of it.
      const betaOnly = await world.newApp('com.example.betaonly');
      await world.release(betaOnly, 1, { channel: 'beta' });
      const betaDetail = (headers: Record<string, string>) => p.app.inject({ method: 'GET', url: `/v1/store/apps/${betaOnly.package_id}`, headers });
      expect((await betaDetail({})).json()).toMatchObject({ package_id: betaOnly.package_id, version: null });
      expect((await betaDetail(beta)).json()).toMatchObject({ version: { version_code: 1, channel: 'beta' } });
      const betaItem = (await p.app.inject({ method: 'GET', url: '/v1/store/apps?sort=name' })).json<{ items: { package_id: string }[] }>().items.find((i) => i.package_id === betaOnly.package_id);
      expect(betaItem).toMatchObject({ version: null, version_code: null, size: null, sha256: null });
      expect(codes(await check(p, `${betaOnly.package_id}:0`))).toEqual([]);
      expect(codes(await check(p, `${betaOnly.package_id}:0`, beta))).toEqual([`${betaOnly.package_id}:1`]);

      // The POST form answers exactly what the GET form does, in request order; unknown packages are skipped.
      const other = await world.newApp('com.example.other');
      await world.release(other, 4);
      const pairs = `${other.package_id}:0,com.example.unknown:0,${pkg}:0`;
      for (const headers of [{}, beta, { 'x-mosis-device': 'dev-1', 'x-mosis-version': '1.0.0' }]) {
        const get = await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${pairs}`, headers });
        const post = await p.app.inject({
          method: 'POST',
          url: '/v1/store/apps/updates',
          headers,
          payload: { installed: pairs.split(',').map((pair) => ({ package_id: pair.split(':')[0], version_code: Number(pair.split(':')[1]) })) },
        });
        expect(post.statusCode, post.body).toBe(200);
        expect(post.body).toBe(get.body);
        expect(codes(get.json<{ updates: Offer[] }>().updates)).toEqual([`${other.package_id}:4`, `${pkg}:${'x-mosis-channel' in headers ? 2 : 1}`]);
      }
      const offer = get1(await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${other.package_id}:0` }));
      expect(offer).toMatchObject({ package_id: other.package_id, version: '1.0.4', version_code: 4, channel: 'stable', min_mosis_version: '1.0.0', permissions: [], download_url: `${p.config.baseUrl}/v1/store/packages/${other.package_id}/4.mosis` });
      expect(offer.store_signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);

      const many = (n: number) => Array.from({ length: n }, (_, i) => `com.example.app${i}:1`).join(',');
      expect((await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${many(200)}` })).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${many(201)}` }), 400, 'validation_failed');
      const installed = (n: number) => Array.from({ length: n }, (_, i) => ({ package_id: `com.example.app${i}`, version_code: 1 }));
      expect((await p.app.inject({ method: 'POST', url: '/v1/store/apps/updates', payload: { installed: installed(2000) } })).json()).toEqual({ updates: [] });
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/store/apps/updates', payload: { installed: installed(2001) } }), 400, 'validation_failed');
      for (const bad of ['x', 'com.a:b', 'com.a:-1', `${pkg}:1,`, `${pkg}:`, ':1', `${pkg}:99999999999`]) {
        expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${encodeURIComponent(bad)}` }), 400, 'validation_failed');
      }
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps/updates' }), 400, 'validation_failed');
      for (const payload of [{ installed: [{ package_id: 'com.a', version_code: -1 }] }, { installed: [{ package_id: 'x y', version_code: 1 }] }, {}]) {
        expectProblem(await p.app.inject({ method: 'POST', url: '/v1/store/apps/updates', payload }), 400, 'validation_failed');
      }
      for (const headers of [{ 'x-mosis-device': 'has space' }, { 'x-mosis-device': 'd'.repeat(129) }, { 'x-mosis-version': '1.0' }, { 'x-mosis-channel': 'nightly' }]) {
        expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${pkg}:0`, headers }), 400, 'validation_failed');
      }
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);

function get1(res: { json<T>(): T }): Offer & Record<string, unknown> {
  const { updates } = res.json<{ updates: (Offer & Record<string, unknown>)[] }>();
  expect(updates).toHaveLength(1);
  return updates[0] as Offer & Record<string, unknown>;
}
