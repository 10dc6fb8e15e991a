import { expect } from 'vitest';
import type { Clock } from '../../src/shared/index.js';
import { enableTotp } from './accounts.js';
import { expectProblem } from './api.js';
import { newDeveloperKey } from './packages.js';
import type { TestPortal } from './portal.js';

/** Someone who registered an address that is not theirs, holding every way in the portal offers. */
export interface Squatter {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** The web UI session cookie's value. */
  webSession: string;
  apiKey: string;
  /** A package signing key the squatter registered (they hold its private half). */
  signingKeyId: string;
  recoveryCodes: string[];
}

export const SQUATTER_PASSWORD = 'the squatter chose this one';

/**
 * Registers `email` (never verified) and gives the account a password, 2FA with recovery codes, a
 * token session, a web session, an API key and a package signing key, each checked to work.
 */
export async function squatAccount(p: TestPortal, email: string, clock: Clock): Promise<Squatter> {
  const password = SQUATTER_PASSWORD;
  const registered = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password, name: 'Squatter' } });
  expect(registered.statusCode, registered.body).toBe(202);
  const first = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  expect(first.statusCode, first.body).toBe(200);
  const { recoveryCodes } = await enableTotp(p, { auth: { authorization: `Bearer ${first.json<{ access_token: string }>().access_token}` } }, clock, password);
  const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, totp_code: recoveryCodes[0] } });
  expect(login.statusCode, login.body).toBe(200);
  const session = login.json<{ user: { id: string }; access_token: string; refresh_token: string }>();
  const auth = { authorization: `Bearer ${session.access_token}` };
  const web = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email, password, totp_code: recoveryCodes[1] } });
  expect(web.statusCode, web.body).toBe(200);
  const webSession = web.cookies.find((c) => c.name === 'mosis_session')?.value ?? '';
  const key = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: auth, payload: { name: 'squatter', scopes: ['apps:read'] } });
  expect(key.statusCode, key.body).toBe(201);
  const signingKey = await p.app.inject({ method: 'POST', url: '/v1/signing-keys', headers: auth, payload: { name: 'squatter', public_key: newDeveloperKey().publicKeyBase64 } });
  expect(signingKey.statusCode, signingKey.body).toBe(201);
  const squatter: Squatter = {
    id: session.user.id,
    email,
    password,
    accessToken: session.access_token,
    refreshToken: session.refresh_token,
    webSession,
    apiKey: key.json<{ key: string }>().key,
    signingKeyId: signingKey.json<{ id: string }>().id,
    recoveryCodes: recoveryCodes.slice(2),
  };
  const ways = await waysIn(p, squatter);
  expect(ways).toEqual({ accessToken: 200, webSession: 200, apiKey: 200 });
  return squatter;
}

/** The status each of the squatter's credentials gets from the portal now. */
async function waysIn(p: TestPortal, s: Squatter): Promise<{ accessToken: number; webSession: number; apiKey: number }> {
  const me = (headers: Record<string, string>) => p.app.inject({ method: 'GET', url: '/v1/auth/me', headers });
  return {
    accessToken: (await me({ authorization: `Bearer ${s.accessToken}` })).statusCode,
    webSession: (await me({ cookie: `mosis_session=${s.webSession}` })).statusCode,
    apiKey: (await p.app.inject({ method: 'GET', url: '/v1/apps', headers: { authorization: `Bearer ${s.apiKey}` } })).statusCode,
  };
}

/** None of the squatter's credentials works any more, and the 2FA they enrolled is gone. */
export async function expectSquatterLockedOut(p: TestPortal, s: Squatter): Promise<void> {
  expect(await waysIn(p, s)).toEqual({ accessToken: 401, webSession: 401, apiKey: 401 });
  expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: s.refreshToken } }), 401, 'invalid_refresh_token');
  for (const totp of [undefined, s.recoveryCodes[0]]) {
    const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: s.email, password: s.password, ...(totp ? { totp_code: totp } : {}) } });
    expectProblem(login, 401, 'invalid_credentials');
  }
  const row = await p.database.db.selectFrom('users').select(['totp_secret', 'totp_enabled_at', 'email_verified_at']).where('id', '=', s.id).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ totp_secret: null, totp_enabled_at: null, email_verified_at: expect.any(String) });
  expect(await p.database.db.selectFrom('recovery_codes').select('id').where('user_id', '=', s.id).execute()).toHaveLength(0);
  // The squatter keeps the private half of the signing key they registered: it must no longer
  // vouch for packages of the account.
  const signingKey = await p.database.db.selectFrom('signing_keys').select('revoked_at').where('id', '=', s.signingKeyId).executeTakeFirstOrThrow();
  expect(signingKey.revoked_at).not.toBeNull();
}
