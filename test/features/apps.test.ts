import { expect, it } from 'vitest';
import type { TestPortal } from '../support/portal.js';
import { createApp, expectProblem, registerUser } from '../support/api.js';
import { describeEachDatabase, describeOnSqlite } from '../support/portal.js';

// Both dialects: package ids are unique (a unique violation per driver), apps are paged by cursor, and deletes cascade.
describeEachDatabase('apps', (portal) => {
  it('creates an app for the caller and lists it', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const res = await p.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: dev.auth,
      payload: { package_id: 'com.example.notes', name: 'Notes', summary: 'Take notes', category: 'productivity' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const app = res.json();
    expect(app).toMatchObject({ package_id: 'com.example.notes', name: 'Notes', summary: 'Take notes', description: '', category: 'productivity', status: 'draft' });
    expect(app.icon_url).toBeNull();
    expect(app.screenshots).toEqual([]);
    const list = await p.app.inject({ method: 'GET', url: '/v1/apps', headers: dev.auth });
    expect(list.json()).toEqual({ items: [app], next_cursor: null });
    const one = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: dev.auth });
    expect(one.json()).toEqual(app);
  });

  it('answers 409 package_id_taken when another developer already has the id', async () => {
    const p = portal();
    const a = await registerUser(p, 'A');
    const b = await registerUser(p, 'B');
    await createApp(p, a, 'com.example.notes');
    const res = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: b.auth, payload: { package_id: 'com.example.notes', name: 'Mine' } });
    expectProblem(res, 409, 'package_id_taken');
    const rows = await p.database.db.selectFrom('apps').select(['owner_id', 'name']).execute();
    expect(rows).toEqual([{ owner_id: a.id, name: 'Notes' }]);
  });

  it('pages through apps with limit and cursor, newest first, and filters by status', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await createApp(p, dev, `com.example.app${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/apps?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await p.app.inject({ method: 'GET', url, headers: dev.auth })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((a: { id: string }) => a.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const published = await p.app.inject({ method: 'GET', url: '/v1/apps?status=published', headers: dev.auth });
    expect(published.json().items).toEqual([]);
    const bad = await p.app.inject({ method: 'GET', url: '/v1/apps?limit=101', headers: dev.auth });
    expectProblem(bad, 400, 'validation_failed');
    const badCursor = await p.app.inject({ method: 'GET', url: '/v1/apps?cursor=nonsense', headers: dev.auth });
    expectProblem(badCursor, 400, 'invalid_cursor');
  });

  it('deletes a draft app with its versions and listings; the package id is free again', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    await insertVersion(p, app.id, 'pending_review');
    await insertVersion(p, app.id, 'failed');
    const put = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/de`, headers: dev.auth, payload: { name: 'Notizen' } });
    expect(put.statusCode, put.body).toBe(201);
    const res = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: dev.auth });
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: dev.auth }), 404, 'app_not_found');
    const db = p.database.db;
    expect(await db.selectFrom('apps').select('id').execute()).toEqual([]);
    expect(await db.selectFrom('versions').select('id').execute()).toEqual([]);
    expect(await db.selectFrom('app_listings').select('locale').execute()).toEqual([]);
    expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: dev.auth }), 404, 'app_not_found');
    await createApp(p, dev, 'com.example.notes');
  });

  it.each(['published', 'yanked'] as const)('refuses to delete an app with a %s version (409) and deletes nothing', async (status) => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    await insertVersion(p, app.id, 'pending_review');
    await insertVersion(p, app.id, status);
    const res = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: dev.auth });
    expectProblem(res, 409, 'app_has_published_versions');
    expect(await p.database.db.selectFrom('apps').select('id').execute()).toEqual([{ id: app.id }]);
    expect(await p.database.db.selectFrom('versions').select('status').orderBy('version_code').execute()).toEqual([{ status: 'pending_review' }, { status }]);
  });
});

// SQLite alone: an owner's filter on plain reads and a plain update, the same on every database.
describeOnSqlite('apps', (portal) => {
  it("never shows one developer another's apps", async () => {
    const p = portal();
    const a = await registerUser(p, 'A');
    const b = await registerUser(p, 'B');
    const app = await createApp(p, a, 'com.example.secret');
    const list = await p.app.inject({ method: 'GET', url: '/v1/apps', headers: b.auth });
    expect(list.json().items).toEqual([]);
    const one = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: b.auth });
    expectProblem(one, 404, 'app_not_found');
    const missing = await p.app.inject({ method: 'GET', url: '/v1/apps/no-such-app', headers: b.auth });
    expect(missing.json().detail).toBe(one.json().detail);
  });

  it('edits the listing fields with PATCH and keeps everything else', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes', { summary: 'Old', category: 'productivity' });
    const before = (await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: dev.auth })).json();
    const res = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { name: '  Notes Pro ', description: 'Long text' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ...before, name: 'Notes Pro', description: 'Long text', updated_at: expect.any(String) });
    expect(res.json().updated_at >= before.updated_at).toBe(true);
    const cleared = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { category: null } });
    expect(cleared.json()).toMatchObject({ name: 'Notes Pro', summary: 'Old', category: null });
    const again = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: dev.auth });
    expect(again.json()).toEqual(cleared.json());
  });
});

// Refused before any query: authentication and validation, the same on every database.
describeOnSqlite('apps: refused requests', (portal) => {
  it('requires a signed-in caller', async () => {
    const res = await portal().app.inject({ method: 'GET', url: '/v1/apps' });
    expectProblem(res, 401, 'unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it.each(['Com.Example', 'example', 'com..example', '.com.example', 'com.example.', 'com.exa_mple', `com.${'a'.repeat(260)}`])(
    'refuses the package id %s and stores nothing',
    async (packageId) => {
      const p = portal();
      const dev = await registerUser(p);
      const res = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: dev.auth, payload: { package_id: packageId, name: 'X' } });
      const body = expectProblem(res, 400, 'validation_failed');
      expect(body['errors']).toEqual([expect.objectContaining({ path: 'body.package_id' })]);
      expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);
    },
  );

  it('refuses mass assignment of owner or status', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const other = await registerUser(p, 'Other');
    const res = await p.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: dev.auth,
      payload: { package_id: 'com.example.notes', name: 'Notes', status: 'published', owner_id: other.id },
    });
    expectProblem(res, 400, 'validation_failed');
    expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);
  });

  it.each([
    ['owner_id', { name: 'X', owner_id: 'someone-else' }],
    ['status', { status: 'published' }],
    ['package_id', { package_id: 'com.example.other' }],
    ['id', { id: 'new-id' }],
    ['nothing to change', {}],
    ['an empty name', { name: '   ' }],
    ['a bad category', { category: 'Not A Slug' }],
    ['a summary over 80 characters', { summary: 'x'.repeat(81) }],
  ])('refuses a PATCH with %s (400) and changes nothing', async (_what, payload) => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    const before = await p.database.db.selectFrom('apps').selectAll().execute();
    const res = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload });
    expectProblem(res, 400, 'validation_failed');
    expect(await p.database.db.selectFrom('apps').selectAll().execute()).toEqual(before);
  });
});

let versionCode = 0;

/** A version row as the upload flow would leave it; publishing is not an API of this issue yet. */
async function insertVersion(p: TestPortal, appId: string, status: 'pending_review' | 'failed' | 'published' | 'yanked'): Promise<void> {
  versionCode += 1;
  await p.database.db
    .insertInto('versions')
    .values({
      id: `v-${versionCode}-${status}`,
      app_id: appId,
      version: `1.0.${versionCode}`,
      version_code: versionCode,
      status,
      sha256: versionCode.toString(16).padStart(64, '0'),
      size: 1,
      permissions: '[]',
      manifest: '{}',
      checks: '[]',
      release_notes: null,
      channel: status === 'published' ? 'stable' : null,
      rollout_percent: status === 'published' ? 100 : null,
      created_at: new Date().toISOString(),
      published_at: status === 'published' ? new Date().toISOString() : null,
    })
    .execute();
}
