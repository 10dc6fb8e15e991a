import { expect, it } from 'vitest';
import { totpCode } from '../../src/features/accounts/totp.js';
import { systemIds } from '../../src/shared/index.js';
import { enableTotp, signInAdmin, TestClock } from '../support/accounts.js';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { describeOnSqlite, type TestPortal } from '../support/portal.js';

// What the web UI's settings and admin pages need beyond sign-in (issue 16): the profile, the
// sessions list, recovery codes, the job queue's summary and discarding a dead job, and the audit
// log naming people by address. Through HTTP, as the pages call them.

let clock: TestClock;

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';

async function webLogin(p: TestPortal, email: string, password = PASSWORD, userAgent = FIREFOX, totp?: string) {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/session', headers: { 'user-agent': userAgent }, payload: { email, password, ...(totp ? { totp_code: totp } : {}) } });
  expect(res.statusCode, res.body).toBe(200);
  const session = res.cookies.find((c) => c.name === 'mosis_session');
  const csrf = res.json<{ csrf_token: string }>().csrf_token;
  return { cookie: `mosis_session=${session?.value ?? ''}`, headers: { cookie: `mosis_session=${session?.value ?? ''}`, 'x-csrf-token': csrf } };
}

interface AccountSession {
  id: string;
  kind: 'web' | 'api';
  current: boolean;
  signed_in_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  methods: string[];
}

describeOnSqlite(
  'accounts: the settings pages’ routes',
  (portal) => {
    it('changes the profile name, refusing an empty one and API keys', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Ada');
      const web = await webLogin(p, dev.email);

      const renamed = await p.app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: web.headers, payload: { name: '  Ada Lovelace ' } });
      expect(renamed.statusCode, renamed.body).toBe(200);
      expect(renamed.json()).toMatchObject({ id: dev.id, name: 'Ada Lovelace', email: dev.email });
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).json().name).toBe('Ada Lovelace');

      const empty = expectProblem(await p.app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: web.headers, payload: { name: '   ' } }), 400, 'validation_failed');
      expect(empty['errors']).toEqual([expect.objectContaining({ path: 'body.name' })]);
      // Only the name: the email and role have their own ways.
      expectProblem(await p.app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: web.headers, payload: { name: 'Ada', role: 'admin' } }), 400, 'validation_failed');
      expectProblem(await p.app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: { cookie: web.cookie }, payload: { name: 'Forged' } }), 403, 'csrf_failed');

      const key = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'ci', scopes: ['keys:manage'] } });
      expectProblem(await p.app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: { authorization: `Bearer ${key.json().key}` }, payload: { name: 'Key' } }), 403, 'api_key_not_allowed');

      const audit = await p.database.db.selectFrom('audit_log').select(['action', 'actor_id']).where('action', '=', 'profile.updated').execute();
      expect(audit).toEqual([{ action: 'profile.updated', actor_id: dev.id }]);
    });

    it('lists the live sessions with where they are used from, and signs out one or all the others', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = await registerUser(p);
      const laptop = await webLogin(p, dev.email);
      const phone = await webLogin(p, dev.email, PASSWORD, 'Mozilla/5.0 (Linux; Android 15) Mobile Safari/537.36');
      const cli = await p.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'user-agent': 'mosis/0.1.0 node/20' }, payload: { email: dev.email, password: PASSWORD } });
      clock.advance(5 * 60_000);
      // A refresh rotates the family: its last use moves, and the refreshing client is recorded.
      const refreshed = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { 'user-agent': 'mosis/0.2.0 node/22' }, payload: { refresh_token: cli.json().refresh_token } });
      expect(refreshed.statusCode, refreshed.body).toBe(200);

      const list = await p.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { cookie: laptop.cookie } });
      expect(list.statusCode, list.body).toBe(200);
      const items = list.json<{ items: AccountSession[] }>().items;
      // registerUser's own API sign-in, the CLI's, and the two browsers; the current one first.
      expect(items).toHaveLength(4);
      expect(items[0]).toMatchObject({ kind: 'web', current: true, user_agent: FIREFOX, ip: '127.0.0.1', methods: ['pwd'] });
      expect(items.filter((s) => s.current)).toHaveLength(1);
      const cliSession = items.find((s) => s.user_agent?.startsWith('mosis/'));
      expect(cliSession).toMatchObject({ kind: 'api', user_agent: 'mosis/0.2.0 node/22', last_used_at: clock.now().toISOString() });
      expect(Date.parse(cliSession!.signed_in_at)).toBeLessThan(Date.parse(cliSession!.last_used_at));
      const phoneSession = items.find((s) => s.user_agent?.includes('Android'));
      expect(phoneSession).toMatchObject({ kind: 'web', current: false });
      // Never a token or a hash.
      expect(list.body).not.toMatch(/mws_|mrt_|token_hash|csrf/);
      // Called with the CLI's access token, the CLI's family is the current one.
      const asCli = await p.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { authorization: `Bearer ${refreshed.json().access_token}` } });
      expect(asCli.json<{ items: AccountSession[] }>().items[0]).toMatchObject({ id: cliSession!.id, current: true });

      // Someone else cannot end them, nor learn whether an id exists.
      const otherWeb = await webLogin(p, other.email);
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phoneSession!.id}`, headers: otherWeb.headers }), 404, 'not_found');
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phoneSession!.id}`, headers: { cookie: laptop.cookie } }), 403, 'csrf_failed');
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: phone.cookie } })).statusCode).toBe(200);

      // The phone signed out from the laptop: its cookie stops working; the laptop's does not.
      const revoked = await p.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phoneSession!.id}`, headers: laptop.headers });
      expect(revoked.statusCode, revoked.body).toBe(204);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: phone.cookie } }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${phoneSession!.id}`, headers: laptop.headers }), 404, 'not_found');
      // The CLI's family too: its access token stops at once.
      expect((await p.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${cliSession!.id}`, headers: laptop.headers })).statusCode).toBe(204);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${refreshed.json().access_token}` } }), 401, 'unauthorized');

      // Every other session: registerUser's API sign-in goes, the laptop stays, the other account is untouched.
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/sessions/revoke-others', headers: laptop.headers })).statusCode).toBe(204);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth }), 401, 'unauthorized');
      const left = (await p.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { cookie: laptop.cookie } })).json<{ items: AccountSession[] }>().items;
      expect(left.map((s) => s.current)).toEqual([true]);
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: otherWeb.cookie } })).statusCode).toBe(200);

      // (The test clock stands still: the entries share a millisecond, so their order is not asserted.)
      const audit = await p.database.db.selectFrom('audit_log').select(['details']).where('action', '=', 'session.revoked').where('actor_id', '=', dev.id).execute();
      const details = audit.map((a) => JSON.parse(a.details) as unknown);
      expect(details).toHaveLength(3);
      expect(details).toEqual(expect.arrayContaining([{ session_id: phoneSession!.id, kind: 'web' }, { session_id: cliSession!.id, kind: 'api' }, { others: true }]));

      // Signing out the current session through the list clears its cookies, like logout.
      const self = await p.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${left[0]!.id}`, headers: laptop.headers });
      expect(self.statusCode).toBe(204);
      expect(self.cookies.find((c) => c.name === 'mosis_session')?.value).toBe('');
    });

    it('leaves idle web sessions out of the list', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await webLogin(p, dev.email);
      clock.advance(61 * 60_000);
      const fresh = await webLogin(p, dev.email);
      const items = (await p.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: { cookie: fresh.cookie } })).json<{ items: AccountSession[] }>().items;
      expect(items.filter((s) => s.kind === 'web')).toHaveLength(1);
    });

    it('says how many recovery codes are left, and replaces them with a code and the password', async () => {
      const p = portal();
      const dev = await registerUser(p);
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/2fa', headers: dev.auth })).json()).toEqual({ enabled: false, enabled_at: null, recovery_codes_remaining: 0, password_required: true });
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/recovery-codes', headers: dev.auth, payload: { code: '123456', password: PASSWORD } }), 409, 'totp_not_enabled');

      const { secret, recoveryCodes } = await enableTotp(p, dev, clock);
      clock.advance(30_000);
      // A recovery code signs in once: nine are left.
      const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD, totp_code: recoveryCodes[0] } });
      expect(login.statusCode, login.body).toBe(200);
      const auth = { authorization: `Bearer ${login.json().access_token}` };
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/2fa', headers: auth })).json()).toMatchObject({ enabled: true, recovery_codes_remaining: 9 });

      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/recovery-codes', headers: auth, payload: { code: totpCode(secret, clock.now()) } }), 401, 'password_required');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/recovery-codes', headers: auth, payload: { code: totpCode(secret, clock.now()), password: 'not the password' } }), 401, 'invalid_credentials');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/recovery-codes', headers: auth, payload: { code: '000000', password: PASSWORD } }), 401, 'invalid_totp_code');

      const fresh = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/recovery-codes', headers: auth, payload: { code: totpCode(secret, clock.now()), password: PASSWORD } });
      expect(fresh.statusCode, fresh.body).toBe(200);
      const codes = fresh.json<{ recovery_codes: string[] }>().recovery_codes;
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/2fa', headers: auth })).json()).toMatchObject({ enabled: true, recovery_codes_remaining: 10 });
      // The session that did it stays; the old codes stop, the new ones work.
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: auth })).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD, totp_code: recoveryCodes[1] } }), 401, 'invalid_totp_code');
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD, totp_code: codes[0] } })).statusCode).toBe(200);
      expect(await p.database.db.selectFrom('audit_log').select('actor_id').where('action', '=', 'recovery_codes.regenerated').execute()).toEqual([{ actor_id: dev.id }]);
    });

    it('summarises the job queue and discards a dead job, audited', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const dev = await registerUser(p);
      const { db } = p.database;
      const ids = systemIds(clock);
      const now = clock.now().toISOString();
      const job = (state: 'dead' | 'queued', kind: string) => ({
        id: ids.id(),
        kind,
        key: null,
        payload: '{}',
        state,
        attempts: state === 'dead' ? 10 : 0,
        max_attempts: 10,
        run_at: now,
        locked_until: null,
        locked_by: null,
        last_error: state === 'dead' ? 'Error: connect ECONNREFUSED 127.0.0.1:25' : null,
        created_at: now,
        updated_at: now,
        finished_at: state === 'dead' ? now : null,
      });
      const dead = job('dead', 'test.discardable');
      const queued = job('queued', 'test.discardable');
      await db.insertInto('jobs').values([dead, queued]).execute();

      const summary = await p.app.inject({ method: 'GET', url: '/v1/admin/jobs/summary', headers: admin.auth });
      expect(summary.statusCode, summary.body).toBe(200);
      expect(summary.json().counts.dead).toBeGreaterThanOrEqual(1);
      expect(summary.json().by_kind).toContainEqual({ kind: 'test.discardable', queued: 1, running: 0, done: 0, dead: 1 });
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/jobs/summary', headers: dev.auth }), 403, 'forbidden');

      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/admin/jobs/${queued.id}`, headers: admin.auth }), 409, 'job_not_dead');
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/admin/jobs/${dead.id}`, headers: dev.auth }), 403, 'forbidden');
      expectProblem(await p.app.inject({ method: 'DELETE', url: '/v1/admin/jobs/no-such-job', headers: admin.auth }), 404, 'job_not_found');
      expect((await p.app.inject({ method: 'DELETE', url: `/v1/admin/jobs/${dead.id}`, headers: admin.auth })).statusCode).toBe(204);
      expect(await db.selectFrom('jobs').select('id').where('id', '=', dead.id).execute()).toEqual([]);
      expect((await p.app.inject({ method: 'GET', url: '/v1/admin/jobs/summary', headers: admin.auth })).json().by_kind).toContainEqual({ kind: 'test.discardable', queued: 1, running: 0, done: 0, dead: 0 });
      const audit = await db.selectFrom('audit_log').select(['actor_id', 'target_id', 'details']).where('action', '=', 'job.discarded').execute();
      expect(audit).toEqual([{ actor_id: admin.id, target_id: dead.id, details: JSON.stringify({ kind: 'test.discardable', last_error: 'Error: connect ECONNREFUSED 127.0.0.1:25' }) }]);
    });

    it('names the actor and a user target by email in the audit log', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const dev = await registerUser(p);
      await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${dev.id}`, headers: admin.auth, payload: { status: 'suspended' } });
      const page = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?action=user.suspended`, headers: admin.auth });
      expect(page.json().items).toEqual([expect.objectContaining({ actor_id: admin.id, actor_email: admin.email, target_id: dev.id, target_email: dev.email })]);
      const failed = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ghost@example.com', password: 'not the password!' } });
      expect(failed.statusCode).toBe(401);
      const anonymous = (await p.app.inject({ method: 'GET', url: `/v1/admin/audit?action=login.failed`, headers: admin.auth })).json().items[0];
      expect(anonymous).toMatchObject({ actor_id: null, actor_email: null, target_email: null });
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
