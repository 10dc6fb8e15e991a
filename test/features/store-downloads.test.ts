import { execFile, execFileSync } from 'node:child_process';
import { createHash, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem, PASSWORD, registerUser, type TestUser } from '../support/api.js';
import { describeOnSqlite, startPortal } from '../support/portal.js';
import { approve, upload } from '../support/review.js';
import { COUNTED_DOWNLOADS_PER_ADDRESS } from '../../src/features/store/store.routes.js';
import { storeWorld, wellKnownKey } from '../support/store.js';

let clock: TestClock;


function curlInstalled(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// HTTP semantics of a file route (ranges, conditional requests, headers) and a keyed hash: nothing the database changes.
describeOnSqlite(
  'store downloads: ranges, conditional requests, signatures, counting',
  (portal) => {
    async function published() {
      const p = portal();
      const world = await storeWorld(p, clock);
      const v1 = await world.release(world.app, 1, { permissions: ['network'] });
      const pkg = world.app.package_id;
      const url = `/v1/store/packages/${pkg}/1.mosis`;
      const get = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => p.app.inject({ method, url, headers });
      return { p, world, v1, pkg, url, get, file: v1.file, size: v1.file.length, sha256: createHash('sha256').update(v1.file).digest('hex') };
    }

    it('serves the whole file with a strong ETag, immutable caching, and a store signature that verifies against the published key', async () => {
      const { p, pkg, get, file, size, sha256 } = await published();
      const whole = await get();
      expect(whole.statusCode, whole.body).toBe(200);
      expect(whole.rawPayload.equals(file)).toBe(true);
      expect(whole.headers).toMatchObject({
        etag: `"${sha256}"`,
        'accept-ranges': 'bytes',
        'cache-control': 'public, max-age=31536000, immutable',
        'content-disposition': `attachment; filename="${pkg}-1.mosis"`,
        'content-type': 'application/vnd.mosis.package',
        'content-length': String(size),
      });
      expect(Date.parse(whole.headers['last-modified'] as string)).toBe(Math.floor(clock.now().getTime() / 1000) * 1000);

      const signature = whole.headers['x-mosis-store-signature'] as string;
      const keyId = whole.headers['x-mosis-store-key'] as string;
      expect(signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
      const key = await wellKnownKey(p, keyId);
      const message = Buffer.from(`mosis-store-v1\n${pkg}\n1\n${sha256}`, 'utf8');
      expect(verify(null, message, key, Buffer.from(signature, 'base64'))).toBe(true);
      // The same signature does not stand for another version code.
      expect(verify(null, Buffer.from(`mosis-store-v1\n${pkg}\n2\n${sha256}`, 'utf8'), key, Buffer.from(signature, 'base64'))).toBe(false);

      const sig = await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/1.mosis.sig` });
      expect(sig.statusCode, sig.body).toBe(200);
      expect(sig.headers['content-type']).toMatch(/^text\/plain/);
      expect(sig.body).toBe(signature);
      expect(sig.headers['x-mosis-store-key']).toBe(keyId);

      const notModified = await get({ 'if-none-match': `"${sha256}"` });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.rawPayload.length).toBe(0);
      expect((await get({ 'if-none-match': `"${'0'.repeat(64)}"` })).statusCode).toBe(200);

      // HEAD tells a device the size before it downloads (RFC 9110 §9.3.2: the GET's headers, no body).
      const head = await get({}, 'HEAD');
      expect(head.statusCode).toBe(200);
      expect(head.rawPayload.length).toBe(0);
      expect(head.headers).toMatchObject({ etag: `"${sha256}"`, 'accept-ranges': 'bytes', 'x-mosis-store-signature': signature });
      const headPart = await get({ range: 'bytes=0-99' }, 'HEAD');
      expect(headPart.statusCode).toBe(206);
      expect(headPart.headers['content-range']).toBe(`bytes 0-99/${size}`);
      expect(headPart.rawPayload.length).toBe(0);
      expect({ whole: head.headers['content-length'], part: headPart.headers['content-length'] }).toEqual({ whole: String(size), part: '100' });
    });

    it('answers one range with 206 and exact bytes, several with the whole file, and an invalid one with 416', async () => {
      const { get, file, size, sha256 } = await published();
      expect(size).toBeGreaterThan(200);
      const cases: [string, number, number][] = [
        ['bytes=0-99', 0, 99],
        ['bytes=-100', size - 100, size - 1],
        ['bytes=100-', 100, size - 1],
        // A last byte past the end is cut to the end (RFC 9110 §14.1.2).
        [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1],
      ];
      for (const [range, start, end] of cases) {
        const res = await get({ range });
        expect(res.statusCode, range).toBe(206);
        expect(res.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
        expect(res.headers['content-length'], range).toBe(String(end - start + 1));
        expect(res.rawPayload.equals(file.subarray(start, end + 1)), range).toBe(true);
        expect(res.headers.etag).toBe(`"${sha256}"`);
      }

      const several = await get({ range: 'bytes=0-1,5-9' });
      expect(several.statusCode).toBe(200);
      expect(several.headers['content-range']).toBeUndefined();
      expect(several.rawPayload.equals(file)).toBe(true);

      for (const range of ['bytes=abc', 'bytes=9-3', `bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0']) {
        const res = await get({ range });
        expectProblem(res, 416, 'range_not_satisfiable');
        expect(res.headers['content-range'], range).toBe(`bytes */${size}`);
      }

      // If-Range: the resumed file is the same one → the range; another file → start over with the whole.
      const same = await get({ range: 'bytes=10-19', 'if-range': `"${sha256}"` });
      expect(same.statusCode).toBe(206);
      expect(same.rawPayload.equals(file.subarray(10, 20))).toBe(true);
      const changed = await get({ range: 'bytes=10-19', 'if-range': `"${'f'.repeat(64)}"` });
      expect(changed.statusCode).toBe(200);
      expect(changed.rawPayload.equals(file)).toBe(true);
      const lastModified = (await get({}, 'HEAD')).headers['last-modified'] as string;
      expect((await get({ range: 'bytes=10-19', 'if-range': lastModified })).statusCode).toBe(206);
      expect((await get({ range: 'bytes=10-19', 'if-range': 'Wed, 21 Oct 2015 07:28:00 GMT' })).statusCode).toBe(200);

    });

    it('answers 404 store_package_not_found for a yanked, an unpublished and an unknown version', async () => {
      const { p, world, pkg } = await published();
      const { app, dev } = world;
      // A beta keeps the app published when it is yanked: v1 stays live on stable.
      const v2 = await world.release(app, 2, { channel: 'beta' });
      expect((await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/2.mosis` })).statusCode).toBe(200);
      const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${v2.id}/yank`, headers: dev.auth, payload: { reason: 'Loses notes on save.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      // Approved, but never published.
      const v3 = await upload(p, dev, app, world.key, 3);
      await approve(p, world.reviewer, v3.id);
      await p.core.store.settled();

      for (const file of ['2.mosis', '2.mosis.sig', '3.mosis', '3.mosis.sig', '99.mosis']) {
        expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/${file}` }), 404, 'store_package_not_found');
      }
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/packages/com.example.unknown/1.mosis' }), 404, 'store_package_not_found');
      expect((await p.app.inject({ method: 'HEAD', url: `/v1/store/packages/${pkg}/2.mosis` })).statusCode).toBe(404);
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/1.txt` }), 400, 'validation_failed');
      expect((await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/1.mosis` })).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.unknown' }), 404, 'store_app_not_found');

      // Device reads log only what is worth a look (the refusals, at warn); the developer's routes log every request.
      const lines = p
        .logs()
        .split('\n')
        .filter((l) => l.includes('"request completed"'))
        .map((l) => JSON.parse(l) as { level: number; req: { url: string; method: string }; res: { statusCode: number } });
      const store = lines.filter((l) => l.req.url.startsWith('/v1/store/'));
      expect(store.length).toBe(9);
      expect(store.every((l) => l.level === 40 && l.res.statusCode >= 400)).toBe(true);
      expect(lines.some((l) => l.level === 30 && l.req.method === 'POST' && l.req.url.endsWith('/yank'))).toBe(true);
    });

    it('still serves the superseded version after the newest is yanked (candidates include superseded versions)', async () => {
      const { p, world, pkg, file } = await published();
      const v2 = await world.release(world.app, 2);
      const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${world.app.id}/versions/${v2.id}/yank`, headers: world.dev.auth, payload: { reason: 'Loses notes on save.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      await p.core.store.settled();
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/2.mosis` }), 404, 'store_package_not_found');
      const v1 = await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/1.mosis` });
      expect(v1.statusCode, v1.body).toBe(200);
      expect(v1.rawPayload.equals(file)).toBe(true);
      const updates = await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${pkg}:0` });
      expect(updates.json()).toMatchObject({ updates: [{ package_id: pkg, version_code: 1 }] });
    });

    it.skipIf(!curlInstalled())('resumes an interrupted download with curl -C - against a listening portal', async () => {
      const { p, pkg, file } = await published();
      const address = await p.app.listen({ port: 0, host: '127.0.0.1' });
      const dir = await mkdtemp(path.join(tmpdir(), 'mosis-curl-'));
      try {
        const out = path.join(dir, 'out.mosis');
        const cut = Math.floor(file.length / 3);
        await writeFile(out, file.subarray(0, cut));
        // -C - resumes from the size of what is on disk (Range: bytes=<cut>-); -w prints the status.
        const { stdout, stderr } = await promisify(execFile)('curl', ['-sS', '-C', '-', '-o', out, '-w', '%{http_code}', `${address}/v1/store/packages/${pkg}/1.mosis`]);
        expect(stderr).toBe('');
        expect(stdout).toBe('206');
        const resumed = await readFile(out);
        expect(resumed.length).toBe(file.length);
        expect(resumed.equals(file)).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('counts a download once per device and version a UTC day, shows it to the owner only, and never stores the device id', async () => {
      const { p, world, get } = await published();
      const devices = { alpha: 'device-alpha-7f3a9c', beta: 'device-beta-21d4e0', gamma: 'device-gamma-90ab11', delta: 'device-delta-44e2f7', eps: 'device-eps-13c8d2' };
      const day1 = clock.now().toISOString().slice(0, 10);
      expect((await get({ 'x-mosis-device': devices.alpha })).statusCode).toBe(200);
      expect((await get({ 'x-mosis-device': devices.alpha })).statusCode).toBe(200);
      expect((await get({ 'x-mosis-device': devices.alpha, range: 'bytes=0-9' })).statusCode).toBe(206);
      expect((await get({ 'x-mosis-device': devices.beta })).statusCode).toBe(200);
      // Neither a HEAD, a 304 nor a 416 is a download.
      expect((await get({ 'x-mosis-device': devices.gamma }, 'HEAD')).statusCode).toBe(200);
      const etag = (await get({}, 'HEAD')).headers.etag as string;
      expect((await get({ 'x-mosis-device': devices.delta, 'if-none-match': etag })).statusCode).toBe(304);
      expect((await get({ 'x-mosis-device': devices.eps, range: 'bytes=abc' })).statusCode).toBe(416);
      await p.core.store.downloads.flush();

      const stats = (user: TestUser) => p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/downloads`, headers: user.auth });
      const first = await stats(world.dev);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toEqual({ items: [{ day: day1, version_code: 1, downloads: 2 }] });

      clock.advance(86_400_000);
      const day2 = clock.now().toISOString().slice(0, 10);
      expect((await get({ 'x-mosis-device': devices.alpha })).statusCode).toBe(200);
      expect((await get({ 'x-mosis-device': devices.alpha })).statusCode).toBe(200);
      await p.core.store.downloads.flush();
      // A day later the developer's access token has expired: sign in again.
      const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: world.dev.email, password: PASSWORD } });
      expect(login.statusCode, login.body).toBe(200);
      const dev = { ...world.dev, auth: { authorization: `Bearer ${login.json<{ access_token: string }>().access_token}` } };
      const second = await stats(dev);
      expect(second.statusCode, second.body).toBe(200);
      expect(second.json()).toEqual({
        items: [
          { day: day1, version_code: 1, downloads: 2 },
          { day: day2, version_code: 1, downloads: 1 },
        ],
      });
      const one = await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/downloads?days=1`, headers: dev.auth });
      expect(one.json()).toEqual({ items: [{ day: day2, version_code: 1, downloads: 1 }] });

      expectProblem(await stats(await registerUser(p, 'Other Developer')), 404, 'app_not_found');
      for (const days of ['0', '366', 'x']) {
        expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/downloads?days=${days}`, headers: dev.auth }), 400, 'validation_failed');
      }
      // The key of the device hashes is the portal's alone.
      expect((await stat(path.join(p.dataDir, 'keys', 'device-ids.json'))).mode & 0o777).toBe(0o600);
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/downloads` }), 401, 'unauthorized');

      const marks = await p.database.db.selectFrom('store_download_marks').selectAll().execute();
      expect(marks).toHaveLength(3);
      const stored = JSON.stringify(marks) + JSON.stringify(await p.database.db.selectFrom('store_downloads').selectAll().execute());
      for (const id of Object.values(devices)) expect(stored).not.toContain(id);
      for (const mark of marks) expect(mark.device_hash).toMatch(/^[A-Za-z0-9_-]{32}$/);
      // Nor a plain, unkeyed hash of it.
      const plain = createHash('sha256').update(`device:${devices.alpha}`).digest('base64url').slice(0, 32);
      expect(marks.map((m) => m.device_hash)).not.toContain(plain);
    });

    it('counts a download without a device id once per client address, and refuses a malformed device id', async () => {
      const { p, world, get } = await published();
      for (let i = 0; i < 3; i += 1) expect((await get()).statusCode).toBe(200);
      expect((await p.app.inject({ method: 'GET', url: `/v1/store/packages/${world.app.package_id}/1.mosis`, remoteAddress: '203.0.113.9' })).statusCode).toBe(200);
      const malformed: Record<string, string>[] = [{ 'x-mosis-device': 'has space' }, { 'x-mosis-device': 'x'.repeat(129) }, { 'x-mosis-version': 'one' }, { 'x-mosis-channel': 'alpha' }];
      for (const headers of malformed) {
        expectProblem(await get(headers), 400, 'validation_failed');
      }
      await p.core.store.downloads.flush();
      const stats = await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/downloads`, headers: world.dev.auth });
      expect(stats.json()).toEqual({ items: [{ day: clock.now().toISOString().slice(0, 10), version_code: 1, downloads: 2 }] });
      const marks = JSON.stringify(await p.database.db.selectFrom('store_download_marks').selectAll().execute());
      expect(marks).not.toContain('127.0.0.1');
      expect(marks).not.toContain('203.0.113.9');
    });

    it('counts at most COUNTED_DOWNLOADS_PER_ADDRESS devices a day from one address, and serves every download', async () => {
      const { p, world, url } = await published();
      const from = (remoteAddress: string, device: string) => p.app.inject({ method: 'GET', url, remoteAddress, headers: { 'x-mosis-device': device } });
      // Invented device ids from one address: all served, only the address's share counted.
      for (let i = 0; i < COUNTED_DOWNLOADS_PER_ADDRESS + 20; i += 1) expect((await from('198.51.100.20', `invented-${i}`)).statusCode).toBe(200);
      // Another address still counts; the next day the first address has a new share.
      expect((await from('198.51.100.21', 'real-device')).statusCode).toBe(200);
      await p.core.store.downloads.flush();
      const day1 = clock.now().toISOString().slice(0, 10);
      clock.advance(86_400_000);
      expect((await from('198.51.100.20', 'next-day-device')).statusCode).toBe(200);
      await p.core.store.downloads.flush();
      // Read from the table: a day later the developer's access token has expired.
      const counts = await p.database.db.selectFrom('store_downloads').select(['day', 'downloads']).where('app_id', '=', world.app.id).orderBy('day').execute();
      expect(counts.map((c) => [c.day, Number(c.downloads)])).toEqual([
        [day1, COUNTED_DOWNLOADS_PER_ADDRESS + 1],
        [clock.now().toISOString().slice(0, 10), 1],
      ]);
    });

    it('limits every store route per client address (STORE_RATE_LIMIT_PER_MINUTE), answering 429 with Retry-After', async () => {
      const limited = await startPortal('sqlite', { STORE_RATE_LIMIT_PER_MINUTE: '3' }, { clock });
      try {
        const ask = (url: string, remoteAddress = '198.51.100.7') => limited.portal.app.inject({ method: 'GET', url, remoteAddress });
        expect((await ask('/v1/store/categories')).statusCode).toBe(200);
        expect((await ask('/v1/store/apps')).statusCode).toBe(200);
        expectProblem(await ask('/v1/store/packages/com.example.notes/1.mosis'), 404, 'store_package_not_found');
        for (const url of ['/v1/store/categories', '/v1/store/apps/updates?pkgs=com.example.notes:0', '/v1/store/packages/com.example.notes/1.mosis', '/v1/store/index.json']) {
          const res = await ask(url);
          expectProblem(res, 429, 'rate_limited');
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
          expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
        }
        // Another address has its own budget; the rest of the API is not the store's to limit.
        expect((await ask('/v1/store/categories', '198.51.100.8')).statusCode).toBe(200);
        expect((await ask('/.well-known/mosis-store-keys.json')).statusCode).toBe(200);
      } finally {
        await limited.stop();
      }
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
