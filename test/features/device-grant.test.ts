import { expect, it } from 'vitest';
import { PASSWORD, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { TestClock } from '../support/accounts.js';
import { describeEachDatabase, type TestPortal } from '../support/portal.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

interface CodeAnswer {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

let clock: TestClock;

async function requestCode(p: TestPortal, body: Record<string, string> = { client_name: 'mosis CLI on laptop' }): Promise<CodeAnswer> {
  // As RFC 8628 clients send it: a form.
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/device/code', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(body).toString() });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.json();
}

function poll(p: TestPortal, deviceCode: string, grantType = GRANT) {
  return p.app.inject({ method: 'POST', url: '/v1/auth/device/token', payload: { grant_type: grantType, device_code: deviceCode } });
}

async function expectGrantError(p: TestPortal, deviceCode: string, error: string): Promise<void> {
  const res = await poll(p, deviceCode);
  expect(res.statusCode, res.body).toBe(400);
  expect(res.json()).toEqual({ error, error_description: expect.any(String) });
}

/** A person signed in to the web UI: the session cookie, and the CSRF token its writes echo. */
async function webSession(p: TestPortal, user: TestUser): Promise<{ cookie: string; csrf: string }> {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email: user.email, password: PASSWORD } });
  expect(res.statusCode, res.body).toBe(200);
  return { cookie: `mosis_session=${res.cookies.find((c) => c.name === 'mosis_session')?.value ?? ''}`, csrf: res.json<{ csrf_token: string }>().csrf_token };
}

function decide(p: TestPortal, web: { cookie: string; csrf: string }, decision: 'approve' | 'deny', userCode: string) {
  return p.app.inject({ method: 'POST', url: `/v1/auth/device/${decision}`, headers: { cookie: web.cookie, 'x-csrf-token': web.csrf }, payload: { user_code: userCode } });
}

// Both databases: the poll pacing and the one-time hand-over are conditional updates that race across connections.
describeEachDatabase(
  'device sign-in (RFC 8628)',
  (portal) => {
    it('hands an approved code over once as a scoped, expiring API key of the approver, pacing the polls on the way', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Dana');
      const code = await requestCode(p, { client_name: 'mosis CLI on laptop', scope: 'apps:read versions:upload' });
      expect(code.user_code).toMatch(USER_CODE);
      expect(code).toMatchObject({ verification_uri: 'http://localhost:8080/device', verification_uri_complete: `http://localhost:8080/device?user_code=${code.user_code}`, expires_in: 600, interval: 5 });
      // Only the hash of the device code is kept.
      const row = await p.database.db.selectFrom('device_authorizations').selectAll().executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(code.device_code);

      await expectGrantError(p, code.device_code, 'authorization_pending');
      // Polled again at once: too fast, and the interval grows by 5 seconds; the next on-time poll is pending again.
      await expectGrantError(p, code.device_code, 'slow_down');
      clock.advance(5_000);
      await expectGrantError(p, code.device_code, 'slow_down');
      clock.advance(15_000);
      await expectGrantError(p, code.device_code, 'authorization_pending');

      // The approval page shows who asks for what; typed in lower case without the dash it is the same code.
      const web = await webSession(p, dev);
      const typed = code.user_code.replace('-', '').toLowerCase();
      const shown = await p.app.inject({ method: 'GET', url: `/v1/auth/device?user_code=${typed}`, headers: { cookie: web.cookie } });
      expect(shown.statusCode, shown.body).toBe(200);
      expect(shown.json()).toMatchObject({ user_code: code.user_code, client_name: 'mosis CLI on laptop', scopes: ['apps:read', 'versions:upload'], requested_from: '127.0.0.1', from_your_address: true });
      // A write without the CSRF token is refused, and approves nothing.
      const forged = await p.app.inject({ method: 'POST', url: '/v1/auth/device/approve', headers: { cookie: web.cookie }, payload: { user_code: code.user_code } });
      expectProblem(forged, 403, 'csrf_failed');
      await expectGrantError(p, code.device_code, 'slow_down');
      clock.advance(15_000);

      const approved = await decide(p, web, 'approve', typed);
      expect(approved.statusCode, approved.body).toBe(200);
      const token = await poll(p, code.device_code);
      expect(token.statusCode, token.body).toBe(200);
      expect(token.headers['cache-control']).toBe('no-store');
      const grant = token.json<{ access_token: string; token_type: string; expires_in: number; scope: string; key_id: string }>();
      expect(grant).toMatchObject({ token_type: 'Bearer', expires_in: 90 * 24 * 3600, scope: 'apps:read versions:upload' });
      expect(grant.access_token).toMatch(/^mk_live_/);

      // The key is the approver's, with those scopes and no more, and it is listed with their keys.
      const bearer = { authorization: `Bearer ${grant.access_token}` };
      expect((await p.app.inject({ method: 'GET', url: '/v1/apps', headers: bearer })).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/apps', headers: bearer, payload: { package_id: 'com.example.x', name: 'X' } }), 403, 'insufficient_scope');
      const keys = await p.app.inject({ method: 'GET', url: '/v1/keys', headers: dev.auth });
      expect(keys.json().items).toEqual([expect.objectContaining({ id: grant.key_id, name: 'mosis CLI on laptop', scopes: ['apps:read', 'versions:upload'] })]);

      // Handed over once: the code is spent.
      await expectGrantError(p, code.device_code, 'invalid_grant');
      expect(await p.database.db.selectFrom('api_keys').select('id').execute()).toHaveLength(1);
      const audit = await p.database.db.selectFrom('audit_log').select(['action', 'actor_id']).where('action', 'in', ['device.approved', 'api_key.created']).execute();
      expect(audit).toHaveLength(2);
      expect(audit).toEqual(
        expect.arrayContaining([
          { action: 'device.approved', actor_id: dev.id },
          { action: 'api_key.created', actor_id: dev.id },
        ]),
      );

      // mosis logout: whoever holds the key revokes it (RFC 7009), and the answer is the same for a key that is not live.
      const revoked = await p.app.inject({ method: 'POST', url: '/v1/auth/revoke', payload: { token: grant.access_token } });
      expect(revoked.statusCode, revoked.body).toBe(200);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/apps', headers: bearer }), 401, 'unauthorized');
      const again = await p.app.inject({ method: 'POST', url: '/v1/auth/revoke', payload: { token: grant.access_token } });
      expect(again.statusCode).toBe(200);
      expect(again.body).toBe(revoked.body);
    });

    it('answers access_denied after a denial and expired_token after ten minutes; neither leaves a key', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Dana');
      const web = await webSession(p, dev);

      const denied = await requestCode(p);
      expect((await decide(p, web, 'deny', denied.user_code)).statusCode).toBe(200);
      await expectGrantError(p, denied.device_code, 'access_denied');
      // Decided: the code no longer shows on the page, and cannot be approved after all.
      expectProblem(await decide(p, web, 'approve', denied.user_code), 404, 'device_code_not_found');
      await expectGrantError(p, denied.device_code, 'access_denied');

      const late = await requestCode(p);
      clock.advance(600_000);
      await expectGrantError(p, late.device_code, 'expired_token');
      expectProblem(await decide(p, web, 'approve', late.user_code), 404, 'device_code_not_found');
      await expectGrantError(p, late.device_code, 'expired_token');
      expect(await p.database.db.selectFrom('api_keys').select('id').execute()).toHaveLength(0);
    });

    it('refuses bad input with the RFC errors, an API key at the approval page, and an unknown code', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Dana');
      const code = await requestCode(p);

      const scope = await p.app.inject({ method: 'POST', url: '/v1/auth/device/code', payload: { scope: 'apps:read admin' } });
      expect(scope.statusCode).toBe(400);
      expect(scope.json()).toMatchObject({ error: 'invalid_scope' });
      const grantType = await poll(p, code.device_code, 'password');
      expect(grantType.statusCode).toBe(400);
      expect(grantType.json()).toMatchObject({ error: 'unsupported_grant_type' });
      await expectGrantError(p, 'not-a-device-code', 'invalid_grant');
      const missing = await p.app.inject({ method: 'POST', url: '/v1/auth/device/token', payload: { grant_type: GRANT } });
      expect(missing.statusCode).toBe(400);
      expect(missing.json()).toMatchObject({ error: 'invalid_request' });
      const huge = await p.app.inject({ method: 'POST', url: '/v1/auth/device/code', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `client_name=${'a'.repeat(5000)}` });
      expectProblem(huge, 413, 'payload_too_large');

      // A key must never approve a key: the page is for a person signed in as themselves.
      const key = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'CI', scopes: ['keys:manage', 'apps:read'] } });
      const keyAuth = { authorization: `Bearer ${key.json<{ key: string }>().key}` };
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/device/approve', headers: keyAuth, payload: { user_code: code.user_code } }), 403, 'api_key_not_allowed');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/device/approve', payload: { user_code: code.user_code } }), 401, 'unauthorized');

      // A client asking from elsewhere, dressed up with a right-to-left override and a bell: the page gets the bare name and a warning flag.
      const elsewhere = await p.app.inject({ method: 'POST', url: '/v1/auth/device/code', remoteAddress: '203.0.113.9', payload: { client_name: 'mosis CLI on \u202Eexe.nigol\u0007' } });
      const seen = await p.app.inject({ method: 'GET', url: `/v1/auth/device?user_code=${elsewhere.json<CodeAnswer>().user_code}`, headers: { cookie: (await webSession(p, dev)).cookie } });
      expect(seen.json()).toMatchObject({ client_name: 'mosis CLI on exe.nigol', requested_from: '203.0.113.9', from_your_address: false });

      // Mistyped, or not a code at all: the same answer.
      const web = await webSession(p, dev);
      expectProblem(await decide(p, web, 'approve', 'BBBB-BBBB'), 404, 'device_code_not_found');
      expectProblem(await decide(p, web, 'approve', 'AEIO-U123'), 404, 'device_code_not_found');
      expect((await p.database.db.selectFrom('device_authorizations').select('status').execute()).map((row) => row.status)).toEqual(['pending', 'pending']);
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
