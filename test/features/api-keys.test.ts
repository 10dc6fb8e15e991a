import { expect, it } from 'vitest';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { TestClock } from '../support/accounts.js';
import { describeOnSqlite, type TestPortal } from '../support/portal.js';

const KEY = /^mk_live_[0-9A-Za-z]{43}$/;

async function createKey(p: TestPortal, user: TestUser, body: Record<string, unknown>): Promise<{ id: string; key: string; prefix: string; expires_at: string | null }> {
  const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: user.auth, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function keyRows(p: TestPortal) {
  return p.database.db.selectFrom('api_keys').selectAll().orderBy('id').execute();
}

let clock: TestClock;

describeOnSqlite(
  'API keys',
  (portal) => {
    it('creates a key shown once, stores only its hash and lists only its prefix', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const created = await createKey(p, dev, { name: 'CI', scopes: ['apps:read', 'versions:upload'] });
      expect(created.key).toMatch(KEY);
      expect(created).toMatchObject({ name: 'CI', scopes: ['apps:read', 'versions:upload'], app_ids: null, expires_at: null, last_used_at: null, revoked_at: null });
      expect(created.key.startsWith(created.prefix)).toBe(true);
      expect(created.prefix.length).toBeLessThan(20);

      const list = await p.app.inject({ method: 'GET', url: '/v1/keys', headers: dev.auth });
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain(created.key);
      expect(list.json().items).toEqual([expect.objectContaining({ id: created.id, prefix: created.prefix })]);
      expect(list.json().items[0].key).toBeUndefined();

      const [row] = await keyRows(p);
      expect(JSON.stringify(row)).not.toContain(created.key);
      expect(row?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('authenticates as Bearer or X-API-Key, within its scopes, and records when it was last used', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await createApp(p, dev, 'com.example.notes');
      const { key, id } = await createKey(p, dev, { name: 'read', scopes: ['apps:read'] });
      for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key }]) {
        const res = await p.app.inject({ method: 'GET', url: '/v1/apps', headers });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().items).toHaveLength(1);
      }
      const row = await p.database.db.selectFrom('api_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.last_used_at).toBe(clock.now().toISOString());
    });

    it('refuses an out-of-scope key with 403 insufficient_scope and changes nothing', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { key } = await createKey(p, dev, { name: 'read', scopes: ['apps:read'] });
      const headers = { 'x-api-key': key };
      const create = await p.app.inject({ method: 'POST', url: '/v1/apps', headers, payload: { package_id: 'com.example.x', name: 'X' } });
      expectProblem(create, 403, 'insufficient_scope');
      expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);
      const mint = await p.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name: 'more', scopes: ['apps:write'] } });
      expectProblem(mint, 403, 'insufficient_scope');
      expect(await keyRows(p)).toHaveLength(1);
    });

    it('never lets a key mint a key with more scopes than itself', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { key } = await createKey(p, dev, { name: 'keys', scopes: ['keys:manage'] });
      const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${key}` }, payload: { name: 'wider', scopes: ['keys:manage', 'apps:write'] } });
      expectProblem(res, 403, 'insufficient_scope');
      expect(await keyRows(p)).toHaveLength(1);
      const same = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${key}` }, payload: { name: 'same', scopes: ['keys:manage'] } });
      expect(same.statusCode).toBe(201);
    });

    it('stops a revoked key at once; revoking twice is 404', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { key, id } = await createKey(p, dev, { name: 'ci', scopes: ['apps:read', 'apps:write'] });
      const del = await p.app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: dev.auth });
      expect(del.statusCode).toBe(204);
      const use = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { 'x-api-key': key }, payload: { package_id: 'com.example.x', name: 'X' } });
      expectProblem(use, 401, 'unauthorized');
      expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: dev.auth }), 404, 'api_key_not_found');
      const listed = await p.app.inject({ method: 'GET', url: '/v1/keys', headers: dev.auth });
      expect(listed.json().items[0].revoked_at).toBe(clock.now().toISOString());
    });

    it('stops an expired key, and refuses an expiry in the past', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const past = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'old', scopes: ['apps:read'], expires_at: new Date(clock.now().getTime() - 1000).toISOString() } });
      expectProblem(past, 422, 'invalid_expiry');
      expect(await keyRows(p)).toHaveLength(0);

      const { key } = await createKey(p, dev, { name: 'day', scopes: ['apps:read', 'apps:write'], expires_at: new Date(clock.now().getTime() + 3600_000).toISOString() });
      expect((await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } })).statusCode).toBe(200);
      clock.advance(3600_000);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } }), 401, 'unauthorized');
      const write = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { 'x-api-key': key }, payload: { package_id: 'com.example.x', name: 'X' } });
      expectProblem(write, 401, 'unauthorized');
      expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);
    });

    it('never lets a key mint a key that outlives it', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const hour = 3600_000;
      const parentExpiry = new Date(clock.now().getTime() + 24 * hour).toISOString();
      const parent = await createKey(p, dev, { name: 'parent', scopes: ['keys:manage', 'apps:read'], expires_at: parentExpiry });
      const headers = { 'x-api-key': parent.key };
      const mint = (body: Record<string, unknown>) => p.app.inject({ method: 'POST', url: '/v1/keys', headers, payload: { name: 'child', scopes: ['apps:read'], ...body } });

      const later = await mint({ expires_at: new Date(clock.now().getTime() + 48 * hour).toISOString() });
      const problem = expectProblem(later, 422, 'expiry_beyond_parent_key');
      expect(problem['errors']).toEqual([expect.objectContaining({ path: 'body.expires_at' })]);
      expect(await keyRows(p)).toHaveLength(1);

      // Without an expiry the child ends with its parent; an earlier one is kept.
      const unbounded = await mint({});
      expect(unbounded.statusCode, unbounded.body).toBe(201);
      expect(unbounded.json().expires_at).toBe(parentExpiry);
      const sooner = new Date(clock.now().getTime() + hour).toISOString();
      expect((await mint({ expires_at: sooner })).json().expires_at).toBe(sooner);
      expect((await mint({ expires_at: parentExpiry })).statusCode).toBe(201);

      // A key that never expires may mint keys that never expire; a signed-in user may choose any expiry.
      const forever = await createKey(p, dev, { name: 'forever', scopes: ['keys:manage'] });
      const child = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: { 'x-api-key': forever.key }, payload: { name: 'child', scopes: ['keys:manage'] } });
      expect(child.json().expires_at).toBeNull();
      const far = new Date(clock.now().getTime() + 365 * 24 * hour).toISOString();
      expect((await createKey(p, dev, { name: 'user', scopes: ['apps:read'], expires_at: far })).expires_at).toBe(far);

      clock.advance(24 * hour);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': unbounded.json<{ key: string }>().key } }), 401, 'unauthorized');
    });

    it('revokes with a key every key made with it, and the keys those made, and no other', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const parent = await createKey(p, dev, { name: 'parent', scopes: ['keys:manage', 'apps:read'] });
      const mint = async (key: string, name: string) => {
        const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: { 'x-api-key': key }, payload: { name, scopes: ['keys:manage', 'apps:read'] } });
        expect(res.statusCode, res.body).toBe(201);
        return res.json<{ id: string; key: string }>();
      };
      const child = await mint(parent.key, 'child');
      const grandchild = await mint(child.key, 'grandchild');
      const sibling = await createKey(p, dev, { name: 'sibling', scopes: ['apps:read'] });

      expect((await p.app.inject({ method: 'DELETE', url: `/v1/keys/${parent.id}`, headers: dev.auth })).statusCode).toBe(204);
      for (const key of [parent.key, child.key, grandchild.key]) {
        expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } }), 401, 'unauthorized');
      }
      expect((await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': sibling.key } })).statusCode).toBe(200);
      const revoked = (await keyRows(p)).filter((row) => row.revoked_at !== null).map((row) => row.name);
      expect(revoked.sort()).toEqual(['child', 'grandchild', 'parent']);
    });

    it('refuses unknown and malformed keys with 401', async () => {
      const p = portal();
      for (const key of [`mk_live_${'A'.repeat(43)}`, 'mk_live_', `mk_live_${'x'.repeat(500)}`]) {
        expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } }), 401, 'unauthorized');
      }
    });

    it('restricts a key to listed apps, and only to apps its owner owns', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = await registerUser(p, 'Other');
      const a = await createApp(p, dev, 'com.example.a');
      const b = await createApp(p, dev, 'com.example.b');
      const foreign = await createApp(p, other, 'com.example.foreign');

      const refused = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'x', scopes: ['apps:read'], app_ids: [a.id, foreign.id] } });
      expectProblem(refused, 404, 'app_not_found');
      expect(await keyRows(p)).toHaveLength(0);

      const { key } = await createKey(p, dev, { name: 'a only', scopes: ['apps:read', 'apps:write'], app_ids: [a.id] });
      const headers = { 'x-api-key': key };
      expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${a.id}`, headers })).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${b.id}`, headers }), 403, 'api_key_app_restricted');
      const patch = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${b.id}`, headers, payload: { name: 'Renamed' } });
      expectProblem(patch, 403, 'api_key_app_restricted');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/apps', headers, payload: { package_id: 'com.example.c', name: 'C' } }), 403, 'api_key_app_restricted');
      const names = await p.database.db.selectFrom('apps').select(['package_id', 'name']).orderBy('package_id').execute();
      expect(names.map((n) => n.name)).toEqual(['Notes', 'Notes', 'Notes']);

      // Lists show only the key's apps; account-wide actions are refused, so the key cannot widen
      // itself with a new unrestricted key nor touch the account's signing keys.
      const list = await p.app.inject({ method: 'GET', url: '/v1/apps', headers });
      expect(list.json<{ items: { id: string }[] }>().items.map((i) => i.id)).toEqual([a.id]);
      const allScopes = { 'x-api-key': (await createKey(p, dev, { name: 'a, all scopes', scopes: ['apps:read', 'keys:manage'], app_ids: [a.id] })).key };
      const widened = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: allScopes, payload: { name: 'wider', scopes: ['apps:read'] } });
      expectProblem(widened, 403, 'api_key_app_restricted');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/keys', headers: allScopes }), 403, 'api_key_app_restricted');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/signing-keys', headers: allScopes }), 403, 'api_key_app_restricted');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: allScopes }), 403, 'api_key_app_restricted');
      expect(await keyRows(p)).toHaveLength(2);
    });

    it("keeps developer B away from developer A's keys and apps", async () => {
      const p = portal();
      const a = await registerUser(p, 'A');
      const b = await registerUser(p, 'B');
      const app = await createApp(p, a, 'com.example.mine');
      const { key, id } = await createKey(p, a, { name: 'a', scopes: ['apps:read'] });

      const list = await p.app.inject({ method: 'GET', url: '/v1/keys', headers: b.auth });
      expect(list.json().items).toEqual([]);
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: b.auth }), 404, 'api_key_not_found');
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: b.auth }), 404, 'app_not_found');
      expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: b.auth, payload: { name: 'Stolen' } }), 404, 'app_not_found');
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: b.auth }), 404, 'app_not_found');

      // B's own keys do not reach A's app either.
      const bKey = await createKey(p, b, { name: 'b', scopes: ['apps:read', 'apps:write'] });
      expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: { 'x-api-key': bKey.key }, payload: { name: 'Stolen' } }), 404, 'app_not_found');

      expect((await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } })).statusCode).toBe(200);
      const row = await p.database.db.selectFrom('apps').select(['name', 'owner_id']).where('id', '=', app.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ name: 'Notes', owner_id: a.id });
    });

    it('refuses bad bodies and mass assignment with a clear error, creating nothing', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = await registerUser(p, 'Other');
      const bodies = [
        { name: 'x', scopes: ['admin'] },
        { name: 'x', scopes: [] },
        { name: '', scopes: ['apps:read'] },
        { name: 'x', scopes: ['apps:read'], owner_id: other.id },
        { name: 'x', scopes: ['apps:read'], key_hash: 'f'.repeat(64) },
        { name: 'x', scopes: ['apps:read'], expires_at: 'tomorrow' },
      ];
      for (const payload of bodies) {
        const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload });
        const problem = expectProblem(res, 400, 'validation_failed');
        expect(problem['errors']).toBeDefined();
      }
      expect(await keyRows(p)).toHaveLength(0);
    });

    it('keeps API keys away from account and admin routes', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { key } = await createKey(p, dev, { name: 'all', scopes: ['apps:read', 'apps:write', 'versions:upload', 'versions:publish', 'telemetry:read', 'keys:manage'] });
      const headers = { 'x-api-key': key };
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers }), 403, 'api_key_not_allowed');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/logout', headers }), 403, 'api_key_not_allowed');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers }), 403, 'api_key_not_allowed');
      const user = await p.database.db.selectFrom('users').select(['totp_pending_secret']).where('id', '=', dev.id).executeTakeFirstOrThrow();
      expect(user.totp_pending_secret).toBeNull();
    });

    it('keeps keys out of the logs', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { key } = await createKey(p, dev, { name: 'ci', scopes: ['apps:read'] });
      await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } });
      await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { authorization: `Bearer ${key}` } });
      expect(p.logs()).not.toContain(key);
      expect(p.logs()).not.toContain(key.slice(8));
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
