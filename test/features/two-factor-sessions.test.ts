import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminAccount } from '../../src/features/accounts/index.js';
import { totpCode } from '../../src/features/accounts/totp.js';
import { systemIds } from '../../src/shared/index.js';
import { expectProblem, PASSWORD, registerUser, type TestUser } from '../support/api.js';
import { enableTotp, runJobs, startMailServer, TestClock, tokenIn } from '../support/accounts.js';
import { authorizeAtProvider, startOpenIdProvider, type TestOpenIdProvider } from '../support/oidc.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';

let clock: TestClock;

type Headers = Record<string, string>;

async function login(p: TestPortal, email: string, password: string, totp?: string) {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...(totp === undefined ? {} : { totp_code: totp }) } });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<{ access_token: string; refresh_token: string }>();
  return { ...body, auth: { authorization: `Bearer ${body.access_token}` } as Headers };
}

async function webLogin(p: TestPortal, email: string, password: string, totp?: string): Promise<{ read: Headers; write: Headers }> {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email, password, ...(totp === undefined ? {} : { totp_code: totp }) } });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = `mosis_session=${res.cookies.find((c) => c.name === 'mosis_session')?.value ?? ''}`;
  return { read: { cookie }, write: { cookie, 'x-csrf-token': res.json<{ csrf_token: string }>().csrf_token } };
}

function amrOf(accessToken: string): unknown {
  return decodeJwt(accessToken)['amr'];
}

async function status(p: TestPortal, url: string, headers: Headers): Promise<number> {
  return (await p.app.inject({ method: 'GET', url, headers })).statusCode;
}

async function newAdmin(p: TestPortal, email = 'boss@example.com'): Promise<{ id: string; email: string; password: string }> {
  const password = 'admin password for tests';
  const created = await createAdminAccount({ db: p.database.db, clock, ids: systemIds(clock) }, { email, password });
  return { id: created.userId, email, password };
}

async function userRow(p: TestPortal, id: string) {
  return p.database.db.selectFrom('users').select(['totp_secret', 'totp_pending_secret', 'totp_enabled_at']).where('id', '=', id).executeTakeFirstOrThrow();
}

describeOnSqlite(
  'accounts: how a session signed in (amr) and what 2FA changes do to sessions',
  (portal) => {
    it('puts the sign-in methods in the access token (amr), and refreshing keeps them', async () => {
      const p = portal();
      const dev = await registerUser(p);
      expect(amrOf(dev.accessToken)).toEqual(['pwd']);
      const { secret, recoveryCodes } = await enableTotp(p, dev, clock);
      clock.advance(30_000);
      const withCode = await login(p, dev.email, PASSWORD, totpCode(secret, clock.now()));
      expect(amrOf(withCode.access_token)).toEqual(['pwd', 'otp']);
      const refreshed = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: withCode.refresh_token } });
      expect(refreshed.statusCode, refreshed.body).toBe(200);
      expect(amrOf(refreshed.json<{ access_token: string }>().access_token)).toEqual(['pwd', 'otp']);
      // A recovery code is a one-time code too.
      const withRecovery = await login(p, dev.email, PASSWORD, recoveryCodes[0]);
      expect(amrOf(withRecovery.access_token)).toEqual(['pwd', 'otp']);
      const rows = await p.database.db.selectFrom('refresh_tokens').select(['amr', 'authenticated_at']).where('user_id', '=', dev.id).execute();
      expect(rows.every((r) => r.amr !== null && r.authenticated_at !== null)).toBe(true);
    });

    it("takes admin access from an admin's password-only session once TOTP is enrolled elsewhere", async () => {
      const p = portal();
      const admin = await newAdmin(p);
      const before = await login(p, admin.email, admin.password);
      const beforeWeb = await webLogin(p, admin.email, admin.password);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: before.auth }), 403, 'two_factor_required');

      // Enrolled from another session: the password-only sessions opened before are over.
      const enrolling = await login(p, admin.email, admin.password);
      const { secret } = await enableTotp(p, enrolling, clock, admin.password);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: before.auth }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: beforeWeb.read }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: before.refresh_token } }), 401, 'invalid_refresh_token');
      // The enrolling session proved the new factor and the password: it may.
      expect(await status(p, '/v1/admin/users', enrolling.auth)).toBe(200);

      clock.advance(30_000);
      const withCode = await login(p, admin.email, admin.password, totpCode(secret, clock.now()));
      expect(await status(p, '/v1/admin/users', withCode.auth)).toBe(200);
    });

    it('asks a privileged session for the second factor itself, not only an account that has one', async () => {
      const p = portal();
      const admin = await newAdmin(p);
      const first = await login(p, admin.email, admin.password);
      const { secret } = await enableTotp(p, first, clock, admin.password);
      clock.advance(30_000);
      const token = await login(p, admin.email, admin.password, totpCode(secret, clock.now()));
      clock.advance(30_000);
      const web = await webLogin(p, admin.email, admin.password, totpCode(secret, clock.now()));
      expect(await status(p, '/v1/admin/users', token.auth)).toBe(200);
      expect(await status(p, '/v1/admin/audit', web.read)).toBe(200);

      // Sessions kept from before the portal recorded how they signed in (migration 0005 leaves
      // their amr empty), or opened with the password alone, do not count, though the account has TOTP.
      await p.database.db.updateTable('refresh_tokens').set({ amr: null }).where('user_id', '=', admin.id).execute();
      await p.database.db.updateTable('web_sessions').set({ amr: '["pwd"]' }).where('user_id', '=', admin.id).execute();
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: token.auth }), 403, 'two_factor_session_required');
      const other = await registerUser(p, 'Other');
      const patch = await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${other.id}`, headers: web.write, payload: { status: 'suspended' } });
      expectProblem(patch, 403, 'two_factor_session_required');
      expect((await p.database.db.selectFrom('users').select('status').where('id', '=', other.id).executeTakeFirstOrThrow()).status).toBe('active');
      // Developer routes are not affected.
      expect(await status(p, '/v1/apps', token.auth)).toBe(200);
    });

    it("never lets an admin's API key stand in for a second-factor session", async () => {
      const p = portal();
      const admin = await newAdmin(p);
      const first = await login(p, admin.email, admin.password);
      const { secret } = await enableTotp(p, first, clock, admin.password);
      clock.advance(30_000);
      const session = await login(p, admin.email, admin.password, totpCode(secret, clock.now()));
      const key = (await p.app.inject({ method: 'POST', url: '/v1/keys', headers: session.auth, payload: { name: 'all', scopes: ['apps:read', 'keys:manage'] } })).json<{ key: string }>().key;
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/users', headers: { 'x-api-key': key } }), 403, 'api_key_not_allowed');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/audit', headers: { authorization: `Bearer ${key}` } }), 403, 'api_key_not_allowed');
    });

    it('ends every other session when 2FA is turned on or off, keeping the one that did it', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = await login(p, dev.email, PASSWORD);
      const otherWeb = await webLogin(p, dev.email, PASSWORD);
      const { secret } = await enableTotp(p, dev, clock);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: other.auth }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: otherWeb.read }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refresh_token } }), 401, 'invalid_refresh_token');
      expect(await status(p, '/v1/auth/me', dev.auth)).toBe(200);
      // The enrolling session now counts as signed in with the second factor, and keeps it on refresh.
      const refreshed = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } });
      expect(refreshed.statusCode, refreshed.body).toBe(200);
      const current = refreshed.json<{ access_token: string }>();
      expect(amrOf(current.access_token)).toEqual(['pwd', 'otp']);

      // Turning it off, from a web session, ends the token session and keeps the web one.
      clock.advance(30_000);
      const web = await webLogin(p, dev.email, PASSWORD, totpCode(secret, clock.now()));
      clock.advance(30_000);
      const off = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/disable', headers: web.write, payload: { code: totpCode(secret, clock.now()), password: PASSWORD } });
      expect(off.statusCode, off.body).toBe(204);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${current.access_token}` } }), 401, 'unauthorized');
      expect(await status(p, '/v1/auth/me', web.read)).toBe(200);

      const audit = await p.database.db.selectFrom('audit_log').select(['action', 'details']).where('target_id', '=', dev.id).orderBy('id').execute();
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['totp.enabled', 'totp.disabled']));
    });

    it('refuses to turn 2FA on or off without the current password, changing nothing', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = await login(p, dev.email, PASSWORD);
      const setup = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers: dev.auth });
      const { secret } = setup.json<{ secret: string }>();
      const enable = (payload: Record<string, string>) => p.app.inject({ method: 'POST', url: '/v1/auth/2fa/enable', headers: dev.auth, payload });
      expectProblem(await enable({ code: totpCode(secret, clock.now()) }), 401, 'password_required');
      expectProblem(await enable({ code: totpCode(secret, clock.now()), password: 'not my password at all' }), 401, 'invalid_credentials');
      const row = await userRow(p, dev.id);
      expect(row.totp_enabled_at).toBeNull();
      expect(row.totp_secret).toBeNull();
      expect(await p.database.db.selectFrom('recovery_codes').select('id').execute()).toHaveLength(0);
      expect(await status(p, '/v1/auth/me', other.auth)).toBe(200);

      expect((await enable({ code: totpCode(secret, clock.now()), password: PASSWORD })).statusCode).toBe(200);
      clock.advance(30_000);
      const code = totpCode(secret, clock.now());
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/disable', headers: dev.auth, payload: { code } }), 401, 'password_required');
      expect((await userRow(p, dev.id)).totp_enabled_at).not.toBeNull();
      expect(await p.database.db.selectFrom('recovery_codes').select('id').where('user_id', '=', dev.id).execute()).toHaveLength(10);
      // The refused attempt did not spend the code.
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/disable', headers: dev.auth, payload: { code, password: PASSWORD } })).statusCode).toBe(204);
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describe('accounts: a password reset revokes API keys', () => {
  let mail: Awaited<ReturnType<typeof startMailServer>>;
  beforeAll(async () => {
    mail = await startMailServer();
  });
  afterAll(async () => {
    await mail.close();
  });

  describeOnSqlite(
    'reset',
    (portal) => {
      it('revokes every API key of the account on reset, and the reset mail says so', async () => {
        const p = portal();
        const dev: TestUser = await registerUser(p);
        // A verified account: the reset replaces the password (an unverified one is taken over whole).
        await p.database.db.updateTable('users').set({ email_verified_at: clock.now().toISOString() }).where('id', '=', dev.id).execute();
        const keys: string[] = [];
        for (const name of ['ci', 'deploy']) {
          keys.push((await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name, scopes: ['apps:read'] } })).json<{ key: string }>().key);
        }
        for (const key of keys) expect(await status(p, '/v1/apps', { 'x-api-key': key })).toBe(200);

        await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
        await runJobs(p);
        const resetMail = await mail.waitFor(dev.email, 2);
        expect(resetMail.raw.replace(/=\r?\n/g, '').replace(/\r?\n/g, ' ')).toMatch(/revokes all your API keys/);
        const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: tokenIn(resetMail, 'mpr_'), password: 'my new long password' } });
        expect(ok.statusCode, ok.body).toBe(204);

        for (const key of keys) expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { 'x-api-key': key } }), 401, 'unauthorized');
        const rows = await p.database.db.selectFrom('api_keys').select('revoked_at').where('owner_id', '=', dev.id).execute();
        expect(rows.every((r) => r.revoked_at !== null)).toBe(true);
        const audit = await p.database.db.selectFrom('audit_log').select('details').where('action', '=', 'password.reset').where('target_id', '=', dev.id).executeTakeFirstOrThrow();
        expect(JSON.parse(audit.details)).toMatchObject({ api_keys_revoked: 2 });
      });
    },
    {
      env: () => ({ SMTP_URL: mail.url }),
      deps: () => {
        clock = new TestClock();
        return { clock };
      },
    },
  );
});

describe('accounts: turning on 2FA for an account without a password', () => {
  const BASE_URL = 'http://localhost:8080';
  let idp: TestOpenIdProvider;
  beforeAll(async () => {
    idp = await startOpenIdProvider(`${BASE_URL}/v1/auth/oauth/oidc/callback`);
  });
  afterAll(async () => {
    await idp.close();
  });

  it('needs a sign-in with the provider in the last 10 minutes instead of the password', async () => {
    const oauthClock = new TestClock(Date.now());
    const env = { BASE_URL, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret };
    const { portal: p, stop } = await startPortal('sqlite', env, { clock: oauthClock });
    try {
      idp.accounts.set('nopw-sub', { email: 'nopw@example.com', email_verified: true, name: 'No Password' });
      const signIn = async () => {
        const start = await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/oidc/start?return_to=/apps' });
        expect(start.statusCode, start.body).toBe(302);
        const browser = start.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
        const back = await authorizeAtProvider(String(start.headers.location), 'nopw-sub', BASE_URL);
        const signedIn = await p.app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, headers: browser ? { cookie: browser } : {} });
        expect(signedIn.statusCode, signedIn.body).toBe(302);
        const cookie = `mosis_session=${signedIn.cookies.find((c) => c.name === 'mosis_session')?.value ?? ''}`;
        return { cookie, 'x-csrf-token': signedIn.cookies.find((c) => c.name === 'mosis_csrf')?.value ?? '' };
      };
      const enableWithFreshCode = async (headers: Headers) => {
        const setup = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers });
        expect(setup.statusCode, setup.body).toBe(200);
        const { secret } = setup.json<{ secret: string }>();
        return p.app.inject({ method: 'POST', url: '/v1/auth/2fa/enable', headers, payload: { code: totpCode(secret, oauthClock.now()) } });
      };

      const old = await signIn();
      const me = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: old.cookie } });
      expect(me.statusCode, me.body).toBe(200);
      const userId = me.json<{ id: string }>().id;
      // Eleven minutes after the sign-in (the session kept in use meanwhile): too late.
      for (let i = 0; i < 11; i++) {
        oauthClock.advance(60_000);
        expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: old.cookie } })).statusCode).toBe(200);
      }
      expectProblem(await enableWithFreshCode(old), 401, 'reauthentication_required');
      expect((await userRow(p, userId)).totp_enabled_at).toBeNull();

      // Right after signing in again, it works, and the older session ends.
      const fresh = await signIn();
      const ok = await enableWithFreshCode(fresh);
      expect(ok.statusCode, ok.body).toBe(200);
      expect((await userRow(p, userId)).totp_enabled_at).not.toBeNull();
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: old.cookie } }), 401, 'unauthorized');
    } finally {
      await stop();
    }
  });
});
