import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubIdentity } from '../../src/features/accounts/index.js';
import { systemClock } from '../../src/shared/index.js';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { authorizeAtProvider, startOpenIdProvider, type TestOpenIdProvider } from '../support/oidc.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';
import { expectSquatterLockedOut, squatAccount } from '../support/takeover.js';

const BASE_URL = 'http://localhost:8080';
let idp: TestOpenIdProvider;

beforeAll(async () => {
  idp = await startOpenIdProvider(`${BASE_URL}/v1/auth/oauth/oidc/callback`);
});
afterAll(async () => {
  await idp.close();
});

/** Where the provider sent a browser back to, and the browser-binding cookie that browser holds. */
interface ProviderReturn {
  url: URL;
  browserCookie: string;
}

/** The portal's redirect to the provider, then the browser's round trip there. */
async function signInAtProvider(p: TestPortal, login: string, returnTo = '/apps'): Promise<ProviderReturn> {
  const start = await p.app.inject({ method: 'GET', url: `/v1/auth/oauth/oidc/start?return_to=${encodeURIComponent(returnTo)}` });
  expect(start.statusCode, start.body).toBe(302);
  const cookie = start.cookies.find((c) => c.name === 'mosis_oauth');
  expect(cookie?.value).toBeTruthy();
  return { url: await authorizeAtProvider(String(start.headers.location), login, BASE_URL), browserCookie: cookie?.value ?? '' };
}

/** The browser arriving back at the portal: with its own cookie unless told otherwise. */
async function callback(p: TestPortal, back: ProviderReturn | URL, browserCookie?: string | null) {
  const url = back instanceof URL ? back : back.url;
  const cookie = browserCookie === undefined ? (back instanceof URL ? null : back.browserCookie) : browserCookie;
  return p.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: cookie === null ? {} : { cookie: `mosis_oauth=${cookie}` } });
}

async function counts(p: TestPortal) {
  const db = p.database.db;
  return {
    users: (await db.selectFrom('users').select('id').execute()).length,
    identities: (await db.selectFrom('oauth_identities').select('id').execute()).length,
    sessions: (await db.selectFrom('web_sessions').select('id').execute()).length,
  };
}

describeOnSqlite(
  'OAuth / OpenID Connect sign-in',
  (portal) => {
    it('redirects to the provider with state, nonce, PKCE (S256) and the exact redirect URI', async () => {
      const p = portal();
      const start = await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/oidc/start' });
      expect(start.statusCode).toBe(302);
      const url = new URL(String(start.headers.location));
      expect(url.origin).toBe(idp.issuer);
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        client_id: idp.clientId,
        response_type: 'code',
        redirect_uri: `${BASE_URL}/v1/auth/oauth/oidc/callback`,
        code_challenge_method: 'S256',
        scope: 'openid email profile',
      });
      for (const param of ['state', 'nonce', 'code_challenge']) expect(url.searchParams.get(param)?.length).toBeGreaterThanOrEqual(43);
    });

    it('creates the account on first sign-in, starts a web session and returns to the portal', async () => {
      const p = portal();
      idp.accounts.set('alice-sub', { email: 'Alice@Example.com', email_verified: true, name: 'Alice' });
      const res = await callback(p, await signInAtProvider(p, 'alice-sub', '/apps'));
      expect(res.statusCode, res.body).toBe(302);
      expect(res.headers.location).toBe('/apps');
      const cookie = res.cookies.find((c) => c.name === 'mosis_session');
      expect(cookie?.httpOnly).toBe(true);
      const me = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `mosis_session=${cookie?.value ?? ''}` } });
      expect(me.json()).toMatchObject({ email: 'alice@example.com', name: 'Alice', role: 'developer', email_verified: true });

      // Signing in again finds the same account.
      const again = await callback(p, await signInAtProvider(p, 'alice-sub'));
      expect(again.statusCode).toBe(302);
      expect(await counts(p)).toMatchObject({ users: 1, identities: 1, sessions: 2 });
      const audit = await p.database.db.selectFrom('audit_log').select('action').where('action', '=', 'oauth.account_created').execute();
      expect(audit).toHaveLength(1);
    });

    it('links an existing verified account only when the provider has verified the email', async () => {
      const p = portal();
      const dev = await registerUser(p);
      // As if the developer had followed the link in the verification mail.
      await p.database.db.updateTable('users').set({ email_verified_at: new Date().toISOString() }).where('id', '=', dev.id).execute();
      idp.accounts.set('unverified-sub', { email: dev.email, email_verified: false, name: 'Mallory' });
      const before = await counts(p);
      const refused = await callback(p, await signInAtProvider(p, 'unverified-sub'));
      expectProblem(refused, 409, 'oauth_email_unverified');
      expect(refused.cookies.find((c) => c.name === 'mosis_session')).toBeUndefined();
      expect(await counts(p)).toEqual(before);

      idp.accounts.set('verified-sub', { email: dev.email, email_verified: true, name: 'Dev' });
      const linked = await callback(p, await signInAtProvider(p, 'verified-sub'));
      expect(linked.statusCode, linked.body).toBe(302);
      const identity = await p.database.db.selectFrom('oauth_identities').selectAll().executeTakeFirstOrThrow();
      expect(identity).toMatchObject({ user_id: dev.id, provider: 'oidc', subject: 'verified-sub' });
      expect((await counts(p)).users).toBe(before.users);
      // The password still works too.
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } })).statusCode).toBe(200);
    });

    it("takes an unverified account over for the verified owner: the registrant's password, sessions, keys and 2FA stop", async () => {
      const p = portal();
      const squatter = await squatAccount(p, 'victim@example.com', systemClock);
      // A provider identity the squatter linked (an unverified address at some provider).
      await p.database.db
        .insertInto('oauth_identities')
        .values({ id: 'squatter-identity', user_id: squatter.id, provider: 'github', subject: 'squatter-gh', email: squatter.email, created_at: new Date().toISOString() })
        .execute();
      idp.accounts.set('victim-sub', { email: 'Victim@Example.com', email_verified: true, name: 'Victim' });

      const res = await callback(p, await signInAtProvider(p, 'victim-sub'));
      expect(res.statusCode, res.body).toBe(302);
      const cookie = res.cookies.find((c) => c.name === 'mosis_session')?.value ?? '';
      const me = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `mosis_session=${cookie}` } });
      expect(me.json()).toMatchObject({ id: squatter.id, email: 'victim@example.com', name: 'Victim', email_verified: true, totp_enabled: false });

      await expectSquatterLockedOut(p, squatter);
      const row = await p.database.db.selectFrom('users').select('password_hash').where('id', '=', squatter.id).executeTakeFirstOrThrow();
      expect(row.password_hash).toBeNull();
      const identities = await p.database.db.selectFrom('oauth_identities').select(['provider', 'subject']).where('user_id', '=', squatter.id).execute();
      expect(identities).toEqual([{ provider: 'oidc', subject: 'victim-sub' }]);
      const audit = await p.database.db.selectFrom('audit_log').select(['action', 'details']).where('action', '=', 'account.taken_over').executeTakeFirstOrThrow();
      expect(JSON.parse(audit.details)).toMatchObject({ via: 'oidc', api_keys_revoked: 1, totp_removed: true, oauth_identities_unlinked: 1, password_replaced: true });
      // The owner keeps signing in with the provider.
      expect((await callback(p, await signInAtProvider(p, 'victim-sub'))).statusCode).toBe(302);
    });

    it('refuses a callback started in another browser (login CSRF), signing nobody in', async () => {
      const p = portal();
      idp.accounts.set('mallory-sub', { email: 'mallory@example.com', email_verified: true, name: 'Mallory' });
      // Mallory starts a sign-in to her own account and sends the callback URL to her victim.
      const noCookie = await callback(p, await signInAtProvider(p, 'mallory-sub'), null);
      const body = expectProblem(noCookie, 400, 'oauth_browser_mismatch');
      expect(body['detail']).toMatch(/another browser/);
      // The victim's browser holds the cookie of a sign-in it started itself: still not hers.
      const victims = await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/oidc/start' });
      const victimsCookie = victims.cookies.find((c) => c.name === 'mosis_oauth')?.value ?? '';
      const otherCookie = await callback(p, await signInAtProvider(p, 'mallory-sub'), victimsCookie);
      expectProblem(otherCookie, 400, 'oauth_browser_mismatch');
      for (const res of [noCookie, otherCookie]) expect(res.cookies.find((c) => c.name === 'mosis_session')).toBeUndefined();
      expect(await counts(p)).toEqual({ users: 0, identities: 0, sessions: 0 });
      // In the browser that started it, the same flow signs in.
      expect((await callback(p, await signInAtProvider(p, 'mallory-sub'))).statusCode).toBe(302);
    });

    it('binds the sign-in with a short-lived httpOnly cookie scoped to the callback, and clears it there', async () => {
      const p = portal();
      const start = await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/oidc/start' });
      const cookie = start.cookies.find((c) => c.name === 'mosis_oauth');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/v1/auth/oauth/oidc/callback', maxAge: 600 });
      expect(cookie?.secure).toBeFalsy();
      // Never the state, which travels in URLs.
      const state = new URL(String(start.headers.location)).searchParams.get('state') ?? '';
      expect(cookie?.value).not.toContain(state);
      const row = await p.database.db.selectFrom('oauth_states').selectAll().executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(cookie?.value ?? 'missing');

      idp.accounts.set('frank-sub', { email: 'frank@example.com', email_verified: true, name: 'Frank' });
      const res = await callback(p, await signInAtProvider(p, 'frank-sub'));
      expect(res.statusCode).toBe(302);
      const cleared = res.cookies.find((c) => c.name === 'mosis_oauth');
      expect(cleared).toMatchObject({ value: '', path: '/v1/auth/oauth/oidc/callback' });
      expect(cleared?.expires?.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it('answers an account with two-factor authentication 401 totp_required, as a password sign-in without a code, starting no session', async () => {
      const p = portal();
      idp.accounts.set('tess-sub', { email: 'tess@example.com', email_verified: true, name: 'Tess' });
      expect((await callback(p, await signInAtProvider(p, 'tess-sub'))).statusCode).toBe(302);
      // Tess turned TOTP on since (set here directly: how she did is totp.test.ts's business).
      await p.database.db.updateTable('users').set({ totp_enabled_at: new Date().toISOString() }).where('email', '=', 'tess@example.com').execute();
      const before = await counts(p);
      expectProblem(await callback(p, await signInAtProvider(p, 'tess-sub')), 401, 'totp_required');
      expect(await counts(p)).toEqual(before);
    });

    it('refuses a bad state, creating nothing', async () => {
      const p = portal();
      idp.accounts.set('bob-sub', { email: 'bob@example.com', email_verified: true, name: 'Bob' });
      const back = await signInAtProvider(p, 'bob-sub');
      const forged = new URL(back.url);
      forged.searchParams.set('state', 'not-the-state-we-sent-0123456789abcdefghijk');
      expectProblem(await callback(p, forged, back.browserCookie), 400, 'oauth_invalid_state');
      const missing = new URL(back.url);
      missing.searchParams.delete('state');
      expectProblem(await callback(p, missing, back.browserCookie), 400, 'oauth_invalid_state');
      expect(await counts(p)).toEqual({ users: 0, identities: 0, sessions: 0 });
    });

    it('refuses a reused authorization code, creating nothing more', async () => {
      const p = portal();
      idp.accounts.set('carol-sub', { email: 'carol@example.com', email_verified: true, name: 'Carol' });
      const back = await signInAtProvider(p, 'carol-sub');
      expect((await callback(p, back)).statusCode).toBe(302);
      const after = await counts(p);
      // The same callback again: its state is spent.
      expectProblem(await callback(p, back), 400, 'oauth_invalid_state');
      // The old code with a fresh state: the provider refuses the code.
      const fresh = await signInAtProvider(p, 'carol-sub');
      const replay = new URL(fresh.url);
      replay.searchParams.set('code', back.url.searchParams.get('code') ?? '');
      expectProblem(await callback(p, replay, fresh.browserCookie), 400, 'oauth_failed');
      expect(await counts(p)).toEqual(after);
    });

    it('refuses an ID token with the wrong nonce or the wrong audience, creating nothing', async () => {
      const p = portal();
      idp.accounts.set('dave-sub', { email: 'dave@example.com', email_verified: true, name: 'Dave' });
      try {
        idp.tamper = { nonce: 'a-nonce-this-portal-never-sent' };
        expectProblem(await callback(p, await signInAtProvider(p, 'dave-sub')), 400, 'oauth_failed');
        idp.tamper = { aud: 'another-client' };
        expectProblem(await callback(p, await signInAtProvider(p, 'dave-sub')), 400, 'oauth_failed');
        idp.tamper = { iss: 'https://evil.example.com' };
        expectProblem(await callback(p, await signInAtProvider(p, 'dave-sub')), 400, 'oauth_failed');
      } finally {
        idp.tamper = null;
      }
      expect(await counts(p)).toEqual({ users: 0, identities: 0, sessions: 0 });
      // Untampered, the same account signs in.
      expect((await callback(p, await signInAtProvider(p, 'dave-sub'))).statusCode).toBe(302);
    });

    it('refuses providers that are not set up and return paths off the portal', async () => {
      const p = portal();
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/github/start' }), 404, 'oauth_provider_not_enabled');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/google/callback?code=x&state=y' }), 404, 'oauth_provider_not_enabled');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/oauth/facebook/start' }), 400, 'validation_failed');
      for (const target of ['//evil.example.com/', 'https://evil.example.com/', '/\\evil.example.com']) {
        expectProblem(await p.app.inject({ method: 'GET', url: `/v1/auth/oauth/oidc/start?return_to=${encodeURIComponent(target)}` }), 400, 'validation_failed');
      }
      expect(await p.database.db.selectFrom('oauth_states').select('state_hash').execute()).toHaveLength(0);
    });

    it('keeps codes and state out of the logs', async () => {
      const p = portal();
      idp.accounts.set('erin-sub', { email: 'erin@example.com', email_verified: true, name: 'Erin' });
      const back = await signInAtProvider(p, 'erin-sub');
      const res = await callback(p, back);
      expect(res.statusCode).toBe(302);
      const logs = p.logs();
      expect(logs).toContain('/v1/auth/oauth/oidc/callback');
      expect(logs).not.toContain(back.url.searchParams.get('code') ?? 'missing');
      expect(logs).not.toContain(back.url.searchParams.get('state') ?? 'missing');
      expect(logs).not.toContain(back.browserCookie);
    });
  },
  { env: () => ({ BASE_URL, OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret }) },
);

describe('OAuth browser binding over https', () => {
  it('names the cookie __Secure-mosis_oauth, marks it Secure, and reads no other name', async () => {
    const env = { BASE_URL: 'https://portal.example.com', OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret };
    const { portal, stop } = await startPortal('sqlite', env);
    try {
      const startAndReturn = async (cookieName: string) => {
        const start = await portal.app.inject({ method: 'GET', url: '/v1/auth/oauth/oidc/start' });
        expect(start.statusCode, start.body).toBe(302);
        const cookie = start.cookies.find((c) => c.name === '__Secure-mosis_oauth');
        expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax' });
        const state = new URL(String(start.headers.location)).searchParams.get('state') ?? '';
        // A made-up code: past the browser check, the provider refuses it.
        return portal.app.inject({ method: 'GET', url: `/v1/auth/oauth/oidc/callback?code=not-a-code&state=${state}`, headers: { cookie: `${cookieName}=${cookie?.value ?? ''}` } });
      };
      // The unprefixed name is what a plain-http answer could have planted: ignored.
      expectProblem(await startAndReturn('mosis_oauth'), 400, 'oauth_browser_mismatch');
      expectProblem(await startAndReturn('__Secure-mosis_oauth'), 400, 'oauth_failed');
    } finally {
      await stop();
    }
  });
});

describe('GitHub identity mapping (GitHub itself cannot be reached from tests)', () => {
  it('uses the primary email when GitHub has verified it', () => {
    const identity = githubIdentity(
      { id: 42, login: 'octo', name: 'Octo Cat' },
      [
        { email: 'other@example.com', primary: false, verified: true },
        { email: 'Octo@Example.com', primary: true, verified: true },
      ],
    );
    expect(identity).toEqual({ subject: '42', email: 'octo@example.com', emailVerified: true, name: 'Octo Cat' });
  });

  it('falls back to another verified email, and marks an unverified primary as unverified', () => {
    expect(githubIdentity({ id: 1, login: 'a' }, [{ email: 'p@example.com', primary: true, verified: false }, { email: 'v@example.com', primary: false, verified: true }])).toMatchObject({
      email: 'v@example.com',
      emailVerified: true,
      name: 'a',
    });
    expect(githubIdentity({ id: 2, login: 'b' }, [{ email: 'p@example.com', primary: true, verified: false }])).toMatchObject({ email: 'p@example.com', emailVerified: false });
    expect(githubIdentity({ id: 3, login: 'c', email: null }, [])).toMatchObject({ email: null, emailVerified: false });
  });

  it('refuses an answer without a user id', () => {
    expect(() => githubIdentity({ login: 'x' }, [])).toThrow();
  });
});
