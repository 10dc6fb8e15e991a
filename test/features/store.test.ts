import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { describeEachDatabase } from '../support/portal.js';
import { storeWorld } from '../support/store.js';

let clock: TestClock;

describeEachDatabase(
  'store: what devices read after a publish (queries and the model differ by dialect)',
  (portal) => {
    it('lists, details, updates and serves a published version; nothing before publication', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const { app } = world;
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps/${app.package_id}` }), 404, 'store_app_not_found');
      const v1 = await world.release(app, 1, { permissions: ['network'] });

      const list = await p.app.inject({ method: 'GET', url: '/v1/store/apps' });
      expect(list.statusCode, list.body).toBe(200);
      expect(list.json()).toMatchObject({ items: [{ package_id: app.package_id, version_code: 1, version: '1.0.1', size: v1.file.length }], next_cursor: null });
      const etag = list.headers.etag as string;
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/apps', headers: { 'if-none-match': etag } })).statusCode).toBe(304);

      const detail = await p.app.inject({ method: 'GET', url: `/v1/store/apps/${app.package_id}`, headers: { 'x-mosis-device': 'device-1' } });
      expect(detail.statusCode, detail.body).toBe(200);
      expect(detail.json()).toMatchObject({ package_id: app.package_id, version: { version_code: 1, permissions: ['network'] } });

      const updates = await p.app.inject({ method: 'GET', url: `/v1/store/apps/updates?pkgs=${app.package_id}:0,com.unknown.app:3` });
      expect(updates.statusCode, updates.body).toBe(200);
      expect(updates.json()).toMatchObject({ updates: [{ package_id: app.package_id, version_code: 1 }] });

      const download = await p.app.inject({ method: 'GET', url: `/v1/store/packages/${app.package_id}/1.mosis` });
      expect(download.statusCode).toBe(200);
      expect(download.rawPayload.equals(v1.file)).toBe(true);
      const part = await p.app.inject({ method: 'GET', url: `/v1/store/packages/${app.package_id}/1.mosis`, headers: { range: 'bytes=0-99' } });
      expect(part.statusCode).toBe(206);
      expect(part.rawPayload.equals(v1.file.subarray(0, 100))).toBe(true);
      const index = await p.app.inject({ method: 'GET', url: '/v1/store/index.json' });
      expect(index.statusCode, index.body).toBe(200);
      expect(index.json()).toMatchObject({ format: 1, apps: [{ package_id: app.package_id, versions: [{ version_code: 1 }] }] });
      const search = await p.app.inject({ method: 'GET', url: '/v1/store/apps?q=note' });
      expect(search.json()).toMatchObject({ items: [{ package_id: app.package_id }] });
      await p.core.store.downloads.flush();
      const stats = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/downloads`, headers: world.dev.auth });
      expect(stats.json()).toMatchObject({ items: [{ version_code: 1, downloads: 1 }] });

      // Device reads log only what is worth a look (here the 404); the developer's routes log every request.
      const lines = p
        .logs()
        .split('\n')
        .filter((l) => l.includes('"request completed"'))
        .map((l) => JSON.parse(l) as { level: number; req: { url: string }; res: { statusCode: number } });
      const store = lines.filter((l) => l.req.url.startsWith('/v1/store/'));
      expect(store.map((l) => [l.level, l.res.statusCode, l.req.url])).toEqual([[40, 404, `/v1/store/apps/${app.package_id}`]]);
      expect(lines.some((l) => l.level === 30 && l.req.url === `/v1/apps/${app.id}/downloads`)).toBe(true);
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
