import { describe, expect, it } from 'vitest';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { createAdminAccount } from '../../src/features/accounts/index.js';
import { systemIds } from '../../src/shared/index.js';
import { signInAdmin, TestClock } from '../support/accounts.js';
import { describeEachDatabase, describeOnSqlite, prepareDatabase, startPortal, type TestPortal } from '../support/portal.js';
import { runPortal } from '../support/server-process.js';
import { expectSquatterLockedOut, squatAccount, SQUATTER_PASSWORD } from '../support/takeover.js';

let clock: TestClock;

async function patchUser(p: TestPortal, auth: Record<string, string>, id: string, payload: unknown) {
  return p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${id}`, headers: auth, payload: payload as Record<string, unknown> });
}

async function userRow(p: TestPortal, id: string) {
  return p.database.db.selectFrom('users').select(['role', 'status', 'email', 'password_hash', 'email_verified_at']).where('id', '=', id).executeTakeFirstOrThrow();
}

// Both dialects: users are filtered (email LIKE) and paged by queries, and a suspension ends every session in one transaction.
describeEachDatabase(
  'admin: roles and suspension',
  (portal) => {
    it('lists users with filters and pages', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const devs = [await registerUser(p, 'Ann'), await registerUser(p, 'Bob'), await registerUser(p, 'Cid')];
      const all = await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: admin.auth });
      expect(all.statusCode, all.body).toBe(200);
      expect(all.json().items).toHaveLength(4);
      expect(all.json().items[0]).toMatchObject({ status: 'active', role: 'developer', totp_enabled: false });
      expect(all.body).not.toContain('password_hash');

      const admins = await p.app.inject({ method: 'GET', url: '/v1/admin/users?role=admin', headers: admin.auth });
      expect(admins.json().items.map((u: { id: string }) => u.id)).toEqual([admin.id]);
      const bob = await p.app.inject({ method: 'GET', url: `/v1/admin/users?email=${encodeURIComponent(devs[1]?.email ?? '')}`, headers: admin.auth });
      expect(bob.json().items.map((u: { id: string }) => u.id)).toEqual([devs[1]?.id]);

      const page1 = await p.app.inject({ method: 'GET', url: '/v1/admin/users?limit=3', headers: admin.auth });
      const page2 = await p.app.inject({ method: 'GET', url: `/v1/admin/users?limit=3&cursor=${page1.json().next_cursor}`, headers: admin.auth });
      expect([...page1.json().items, ...page2.json().items]).toHaveLength(4);
      expect(page2.json().next_cursor).toBeNull();

      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users?role=root', headers: admin.auth }), 400, 'validation_failed');
    });

    it('changes a role, and the change applies to the next request', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const dev = await registerUser(p);
      const res = await patchUser(p, admin.auth, dev.id, { role: 'reviewer' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: dev.id, role: 'reviewer', status: 'active' });
      const me = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth });
      expect(me.json().role).toBe('reviewer');
    });

    it("suspends a user: their access token, refresh token, web session and API keys stop at once", async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const dev = await registerUser(p);
      const key = (await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'ci', scopes: ['apps:read'] } })).json<{ key: string }>().key;
      const web = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email: dev.email, password: PASSWORD } });
      const cookie = `mosis_session=${web.cookies.find((c) => c.name === 'mosis_session')?.value ?? ''}`;
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } })).statusCode).toBe(200);

      const res = await patchUser(p, admin.auth, dev.id, { status: 'suspended' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe('suspended');

      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } }), 401, 'invalid_refresh_token');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } }), 403, 'account_suspended');

      const audit = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?action=user.suspended&target_id=${dev.id}`, headers: admin.auth });
      expect(audit.json().items).toEqual([expect.objectContaining({ actor_id: admin.id, target_id: dev.id, action: 'user.suspended' })]);

      // Reactivated, the key works again; the ended sessions stay ended.
      expect((await patchUser(p, admin.auth, dev.id, { status: 'active' })).statusCode).toBe(200);
      expect((await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } })).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } }), 401, 'invalid_refresh_token');
    });

    it('create-admin takes a pre-registered account over before promoting it: the registrant is shut out', async () => {
      const p = portal();
      // An attacker registers the address the operator is about to make admin, and sets up 2FA.
      const squatter = await squatAccount(p, `ops-${p.dialect}@example.com`, clock);
      await p.database.db
        .insertInto('oauth_identities')
        .values({ id: 'squatter-identity', user_id: squatter.id, provider: 'github', subject: 'squatter-gh', email: squatter.email, created_at: clock.now().toISOString() })
        .execute();

      const result = await createAdminAccount({ db: p.database.db, clock, ids: systemIds(clock) }, { email: squatter.email.toUpperCase() });
      expect(result).toMatchObject({
        created: false,
        userId: squatter.id,
        generatedPassword: expect.any(String),
        suspended: false,
        takeover: { api_keys_revoked: 1, signing_keys_revoked: 1, totp_removed: true, oauth_identities_unlinked: 1, password_replaced: true },
      });
      // At least the squatter's token session and web session were live.
      expect(result.takeover?.sessions_ended).toBeGreaterThanOrEqual(2);

      await expectSquatterLockedOut(p, squatter);
      expect(await p.database.db.selectFrom('oauth_identities').select('id').execute()).toEqual([]);
      // The operator signs in with the printed password, as an admin with a verified address and no 2FA yet.
      const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: squatter.email, password: result.generatedPassword } });
      expect(login.statusCode, login.body).toBe(200);
      expect(login.json().user).toMatchObject({ id: squatter.id, role: 'admin', email_verified: true, totp_enabled: false });
      const audit = await p.database.db.selectFrom('audit_log').select(['action', 'details']).where('target_id', '=', squatter.id).where('action', 'in', ['account.taken_over', 'role.changed']).execute();
      expect(audit.map((a) => [a.action, JSON.parse(a.details).via])).toEqual(expect.arrayContaining([['account.taken_over', 'create-admin'], ['role.changed', 'create-admin']]));
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

// SQLite alone: who may reach the admin routes (role, second factor), which fields a request may set and
// what an admin may not do to themselves are decided before any query that differs by dialect.
describeOnSqlite(
  'admin: roles and suspension',
  (portal) => {
    it('keeps admin routes from anonymous callers and developers', async () => {
      const p = portal();
      const dev = await registerUser(p);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users' }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: dev.auth }), 403, 'forbidden');
      expectProblem(await patchUser(p, dev.auth, dev.id, { role: 'admin' }), 403, 'forbidden');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/audit', headers: dev.auth }), 403, 'forbidden');
      expect((await userRow(p, dev.id)).role).toBe('developer');
    });

    it('requires admins to turn on TOTP before the admin routes open', async () => {
      const p = portal();
      const dev = await registerUser(p);
      // Promote through the database, as create-admin would, but without enrolling TOTP.
      await p.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', dev.id).execute();
      const other = await registerUser(p, 'Other');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: dev.auth }), 403, 'two_factor_required');
      expectProblem(await patchUser(p, dev.auth, other.id, { status: 'suspended' }), 403, 'two_factor_required');
      expect((await userRow(p, other.id)).status).toBe('active');
    });

    it('refuses mass assignment of role or status, changing nothing', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const dev = await registerUser(p);
      const before = await userRow(p, dev.id);
      for (const payload of [{ role: 'root' }, { status: 'deleted' }, { role: 'reviewer', email: 'x@example.com' }, { password_hash: 'x' }, { email_verified: true }, {}]) {
        expectProblem(await patchUser(p, admin.auth, dev.id, payload), 400, 'validation_failed');
      }
      expect(await userRow(p, dev.id)).toEqual(before);

      // Sign-up cannot choose its own role, status or verification either.
      for (const extra of [{ role: 'admin' }, { status: 'active' }, { email_verified: true }]) {
        const res = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'sneaky@example.com', password: PASSWORD, name: 'S', ...extra } });
        expectProblem(res, 400, 'validation_failed');
      }
      expect(await p.database.db.selectFrom('users').select('id').where('email', '=', 'sneaky@example.com').execute()).toHaveLength(0);
    });

    it('keeps an admin from demoting or suspending themselves, and answers 404 for unknown users', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      expectProblem(await patchUser(p, admin.auth, admin.id, { role: 'developer' }), 409, 'cannot_change_self');
      expectProblem(await patchUser(p, admin.auth, admin.id, { status: 'suspended' }), 409, 'cannot_change_self');
      expectProblem(await patchUser(p, admin.auth, 'no-such-user', { role: 'reviewer' }), 404, 'user_not_found');
      expect(await userRow(p, admin.id)).toMatchObject({ role: 'admin', status: 'active' });
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describe('mosis-portal create-admin', () => {
  it('creates an admin with a generated password printed once, and refuses a weak one', async () => {
    const db = await prepareDatabase('sqlite');
    try {
      const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.databaseUrl };
      // Refused before it opens the database, so it runs beside the two that do instead of after them.
      const missing = runPortal(['create-admin'], env);
      const weak = runPortal(['create-admin', '--email', 'weak@example.com', '--password', 'short'], env);
      expect((await weak.exited).code).toBe(2);
      expect(weak.output()).toMatch(/12 to 256 characters/);

      const run = runPortal(['create-admin', '--email', 'Root@Example.com'], env);
      expect((await run.exited).code, run.output()).toBe(0);
      const password = /Password \(shown once\): (\S+)/.exec(run.output())?.[1];
      expect(password).toBeDefined();
      expect(password?.length).toBeGreaterThanOrEqual(24);

      expect((await missing.exited).code).toBe(2);
      expect(missing.output()).toMatch(/--email/);

      const { portal, stop } = await startPortal('sqlite', { DATA_DIR: db.dataDir, DATABASE_URL: db.databaseUrl });
      try {
        const login = await portal.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'root@example.com', password } });
        expect(login.statusCode, login.body).toBe(200);
        expect(login.json().user).toMatchObject({ role: 'admin', email_verified: true });
        expect(await portal.database.db.selectFrom('users').select('email').execute()).toEqual([{ email: 'root@example.com' }]);
      } finally {
        await stop();
      }
    } finally {
      await db.cleanup();
    }
  });

  it('promoting an existing account says what it took from the previous holder, and the old password stops', async () => {
    const db = await prepareDatabase('sqlite');
    try {
      const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.databaseUrl };
      const { portal, stop } = await startPortal('sqlite', env);
      try {
        const register = await portal.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'ops@example.com', password: SQUATTER_PASSWORD, name: 'Ops' } });
        expect(register.statusCode).toBe(202);
        const login = await portal.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ops@example.com', password: SQUATTER_PASSWORD } });
        const auth = { authorization: `Bearer ${login.json().access_token}` };
        const key = await portal.app.inject({ method: 'POST', url: '/v1/keys', headers: auth, payload: { name: 'squatter', scopes: ['apps:read'] } });
        expect(key.statusCode, key.body).toBe(201);

        const run = runPortal(['create-admin', '--email', 'ops@example.com'], env);
        expect((await run.exited).code, run.output()).toBe(0);
        const out = run.output();
        expect(out).toContain('ops@example.com already had an account; it is now an admin.');
        expect(out).toContain('its password was replaced; the old one no longer works');
        expect(out).toContain('1 session ended, every refresh token revoked');
        expect(out).toContain('1 API key revoked');
        expect(out).toContain('its email address is marked verified');
        const password = /Password \(shown once\): (\S+)/.exec(out)?.[1];
        expect(password).toBeDefined();

        expectProblem(await portal.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ops@example.com', password: SQUATTER_PASSWORD } }), 401, 'invalid_credentials');
        expectProblem(await portal.app.inject({ method: 'GET', url: '/v1/auth/me', headers: auth }), 401, 'unauthorized');
        expect((await portal.app.inject({ method: 'GET', url: '/v1/apps', headers: { authorization: `Bearer ${key.json().key}` } })).statusCode).toBe(401);
        const admin = await portal.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ops@example.com', password } });
        expect(admin.statusCode, admin.body).toBe(200);
        expect(admin.json().user).toMatchObject({ role: 'admin', email_verified: true });
      } finally {
        await stop();
      }
    } finally {
      await db.cleanup();
    }
  });
});
