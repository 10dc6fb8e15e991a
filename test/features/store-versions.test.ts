import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { describeOnSqlite, type TestPortal } from '../support/portal.js';
import { storeWorld } from '../support/store.js';

// GET /v1/store/apps/{package_id}/versions: the version history a store front (the web UI's app
// page) shows. SQLite alone: it reads the read model and the same version rows as the detail.

let clock: TestClock;

interface Page {
  items: {
    package_id: string;
    version: string;
    version_code: number;
    channel: string | null;
    permissions: string[];
    download_url: string;
    store_signature: string | null;
    author: { name: string; url: string | null } | null;
  }[];
  next_cursor: string | null;
}

async function history(p: TestPortal, query = ''): Promise<{ page: Page; etag: string }> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps/com.example.notes/versions${query}` });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('public, max-age=60');
  return { page: res.json<Page>(), etag: String(res.headers['etag']) };
}

describeOnSqlite('store: an app’s published versions', (portal) => {
  it('lists every published version newest first (staged and beta too) with its author, pages them, drops a yanked one, and 404s an unknown app', async () => {
    const p = portal();
    const world = await storeWorld(p, clock);
    const { app } = world;
    await world.release(app, 1, { permissions: ['network'] });
    const v2 = await world.release(app, 2, { rollout: 20 });
    await world.release(app, 3, { channel: 'beta' });

    const { page, etag } = await history(p);
    expect(page.items.map((v) => [v.version_code, v.channel])).toEqual([
      [3, 'beta'],
      [2, 'stable'],
      [1, 'stable'],
    ]);
    expect(page.next_cursor).toBeNull();
    expect(page.items[2]).toMatchObject({ package_id: 'com.example.notes', version: '1.0.1', permissions: ['network'], download_url: `${p.config.baseUrl}/v1/store/packages/com.example.notes/1.mosis` });
    expect(page.items[2]?.store_signature).toEqual(expect.any(String));
    // Who made it: the manifest's author, without the address.
    expect(page.items[2]?.author).toEqual({ name: 'Your Name', url: null });
    const catalog = await p.app.inject({ method: 'GET', url: '/v1/store/apps' });
    expect(catalog.json<{ items: { package_id: string; author_name: string | null }[] }>().items).toEqual([expect.objectContaining({ package_id: 'com.example.notes', author_name: 'Your Name' })]);
    expect(catalog.body).not.toContain('you@example.com');
    const again = await p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.notes/versions', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);

    // A page at a time: the cursor continues below the last version shown.
    const first = (await history(p, '?limit=2')).page;
    expect(first.items.map((v) => v.version_code)).toEqual([3, 2]);
    const second = (await history(p, `?limit=2&cursor=${encodeURIComponent(first.next_cursor ?? '')}`)).page;
    expect(second.items.map((v) => v.version_code)).toEqual([1]);
    expect(second.next_cursor).toBeNull();

    // A yanked version leaves the history (its file is gone from the store too).
    const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${v2.id}/yank`, headers: world.dev.auth, payload: { reason: 'Loses notes.' } });
    expect(yank.statusCode, yank.body).toBe(200);
    await p.core.store.settled();
    expect((await history(p)).page.items.map((v) => v.version_code)).toEqual([3, 1]);

    expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.nothing/versions' }), 404, 'store_app_not_found');
    expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.notes/versions?cursor=nonsense' }), 400, 'invalid_cursor');
    expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.notes/versions?limit=500' }), 400, 'validation_failed');
  });
}, { deps: () => ({ clock: (clock = new TestClock()) }) });
