import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type PortalDatabase } from '../../src/db/index.js';
import { PostgresRateLimits } from '../../src/http/index.js';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { authorizeAtProvider, startOpenIdProvider, type TestOpenIdProvider } from '../support/oidc.js';
import { prepareMigratedDatabase, startPortal, type TestDatabase, type TestPortal } from '../support/portal.js';

/*
 * What several portal instances on one PostgreSQL database must share, and PostgreSQL (SQLite is
 * one process): the sign-in budgets, an OAuth sign-in started on one instance and finished on
 * another, a device code made on one and polled on another. The store read model, the live event
 * stream and recurring jobs across instances are proven in store-instances, live-events and
 * jobs.test.ts.
 */
const BASE_URL = 'http://localhost:8080';
const MINUTE = 60_000;
const pg = inject('postgresUrl') !== null;

describe.skipIf(!pg)('PostgresRateLimits: counters in the rate_limits table', () => {
  let database: TestDatabase;
  let one: PortalDatabase;
  let other: PortalDatabase;
  beforeAll(async () => {
    database = await prepareMigratedDatabase('postgres');
    // Two pools: two instances.
    one = openDatabase({ dialect: 'postgres', url: database.databaseUrl });
    other = openDatabase({ dialect: 'postgres', url: database.databaseUrl });
  });
  afterAll(async () => {
    await one.close();
    await other.close();
    await database.cleanup();
  });

  it('counts an attempt in every budget or in none, answers the seconds to wait, and starts a new window when one ends', async () => {
    const clock = new TestClock();
    const a = new PostgresRateLimits(one.db, clock);
    const b = new PostgresRateLimits(other.db, clock);
    const ip = { key: 'login:ip:203.0.113.1', max: 2, windowMs: MINUTE };
    const account = (n: number) => ({ key: `login:account:user${n}@example.com`, max: 5, windowMs: 10 * MINUTE });
    expect(await a.attempt([ip, account(1)])).toBeNull();
    clock.advance(15_000);
    expect(await b.attempt([ip, account(1)])).toBeNull();
    // The address is spent on both instances: 45 s of its window left.
    expect(await a.attempt([ip, account(1)])).toBe(45);
    // Refused attempts counted nowhere: account 1 still has 3 of its 5, and no row for account 2 was made.
    expect(await b.attempt([ip, account(2)])).toBe(45);
    const second = { key: 'login:ip:203.0.113.2', max: 10, windowMs: MINUTE };
    for (let i = 0; i < 3; i += 1) expect(await a.attempt([second, account(1)])).toBeNull();
    expect(await b.attempt([second, account(1)])).toBe(585);
    expect((await sql<{ n: number }>`select count(*)::int as n from rate_limits`.execute(one.db)).rows).toEqual([{ n: 3 }]);

    // The address's window ends: a new one, counting from one.
    clock.advance(45_000);
    expect(await b.attempt([ip])).toBeNull();
    expect(await a.attempt([ip])).toBeNull();
    expect(await a.attempt([ip])).toBe(60);
  });

  it('admits exactly the budget when two instances count at once', async () => {
    const clock = new TestClock();
    const a = new PostgresRateLimits(one.db, clock);
    const b = new PostgresRateLimits(other.db, clock);
    // Two budgets each, named in opposite orders: concurrent attempts must not deadlock either.
    const x = { key: 'race:x', max: 10, windowMs: MINUTE };
    const y = { key: 'race:y', max: 1000, windowMs: MINUTE };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a.attempt([x, y]) : b.attempt([y, x]))));
    expect(answers.filter((w) => w === null)).toHaveLength(10);
    expect(answers.filter((w) => w === 60)).toHaveLength(30);
  });

  it('keeps hashes of the keys, never what a caller sent, and sweeps ended windows only', async () => {
    const clock = new TestClock(Date.parse('2026-12-01T00:00:00.000Z'));
    const limits = new PostgresRateLimits(one.db, clock);
    const email = `${'a'.repeat(5000)}@example.com`;
    expect(await limits.attempt([{ key: `sweep:short:${email}`, max: 1, windowMs: MINUTE }])).toBeNull();
    expect(await limits.attempt([{ key: 'sweep:long', max: 1, windowMs: 60 * MINUTE }])).toBeNull();
    const { rows } = await sql<{ key: string }>`select key from rate_limits`.execute(one.db);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect(row.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A minute on, every window of the earlier tests (their clocks are a day behind) and the short one have ended.
    clock.advance(MINUTE);
    expect(await limits.sweep()).toBe(rows.length - 1);
    expect((await sql<{ n: number }>`select count(*)::int as n from rate_limits`.execute(one.db)).rows).toEqual([{ n: 1 }]);
    // The hour-long window is still counting.
    expect(await limits.attempt([{ key: 'sweep:long', max: 1, windowMs: 60 * MINUTE }])).toBe(59 * 60);
  });
});

/** Two instances on one PostgreSQL database and one DATA_DIR, as docs/operations.md deploys them. */
async function twoInstances(env: Record<string, string>) {
  const a = await startPortal('postgres', { LOG_LEVEL: 'warn', ...env });
  const config = a.portal.config.database;
  if (config.dialect !== 'postgres') throw new Error('instance A is not on PostgreSQL');
  const b = await startPortal('postgres', { LOG_LEVEL: 'warn', ...env, DATABASE_URL: config.url, DATA_DIR: a.portal.config.dataDir, PACKAGES_DIR: a.portal.config.packagesDir }).catch(async (err: unknown) => {
    await a.stop();
    throw err;
  });
  return {
    A: a.portal,
    B: b.portal,
    stop: async () => {
      await b.stop();
      await a.stop();
    },
  };
}

const login = (p: TestPortal, email: string, remoteAddress: string) =>
  p.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, payload: { email, password: 'not the password' } });

describe.skipIf(!pg)('two portal instances on one PostgreSQL database', () => {
  let idp: TestOpenIdProvider;
  let A: TestPortal;
  let B: TestPortal;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    idp = await startOpenIdProvider(`${BASE_URL}/v1/auth/oauth/oidc/callback`);
    ({ A, B, stop } = await twoInstances({
      BASE_URL,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      AUTH_RATE_LIMIT_PER_IP: '2',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '3',
    }));
  });
  afterAll(async () => {
    await stop();
    await idp.close();
  });

  it('refuses on instance B a sign-in budget spent on instance A', async () => {
    expectProblem(await login(A, 'one@example.com', '198.51.100.1'), 401, 'invalid_credentials');
    expectProblem(await login(A, 'two@example.com', '198.51.100.1'), 401, 'invalid_credentials');
    const refused = await login(B, 'three@example.com', '198.51.100.1');
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Per account too: guesses at one account from three addresses, spread over both instances.
    expectProblem(await login(B, 'victim@example.com', '198.51.100.2'), 401, 'invalid_credentials');
    expectProblem(await login(A, 'victim@example.com', '198.51.100.3'), 401, 'invalid_credentials');
    expectProblem(await login(B, 'victim@example.com', '198.51.100.4'), 401, 'invalid_credentials');
    expectProblem(await login(A, 'victim@example.com', '198.51.100.5'), 429, 'rate_limited');
  });

  it('answers 503 rate_limits_unavailable, not an uncounted guess, when the counters cannot be reached', async () => {
    await sql`alter table rate_limits rename to rate_limits_away`.execute(A.database.db);
    try {
      const res = await login(B, 'someone@example.com', '198.51.100.9');
      expectProblem(res, 503, 'rate_limits_unavailable');
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await sql`alter table rate_limits_away rename to rate_limits`.execute(A.database.db);
    }
    expectProblem(await login(B, 'someone@example.com', '198.51.100.9'), 401, 'invalid_credentials');
  });

  it('finishes on instance B an OpenID sign-in started on instance A', async () => {
    idp.accounts.set('across-sub', { email: 'across@example.com', email_verified: true, name: 'Across' });
    const start = await A.app.inject({ method: 'GET', url: '/v1/auth/oauth/oidc/start?return_to=%2Fapps', remoteAddress: '198.51.100.20' });
    expect(start.statusCode, start.body).toBe(302);
    const browser = start.cookies.find((c) => c.name === 'mosis_oauth')?.value ?? '';
    const back = await authorizeAtProvider(String(start.headers.location), 'across-sub', BASE_URL);
    const done = await B.app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, remoteAddress: '198.51.100.20', headers: { cookie: `mosis_oauth=${browser}` } });
    expect(done.statusCode, done.body).toBe(302);
    expect(done.headers.location).toBe('/apps');
    expect(done.cookies.find((c) => c.name === 'mosis_session')?.value).toBeTruthy();
    // The state is used: replayed on A it is refused (from another address: start and callback spent this one's two).
    const replay = await A.app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, remoteAddress: '198.51.100.21', headers: { cookie: `mosis_oauth=${browser}` } });
    expectProblem(replay, 400, 'oauth_invalid_state');
  });

  it('knows on instance B a device code requested on instance A', async () => {
    const code = await A.app.inject({ method: 'POST', url: '/v1/auth/device/code', remoteAddress: '198.51.100.30', payload: { client_name: 'mosis CLI' } });
    expect(code.statusCode, code.body).toBe(200);
    const { device_code: deviceCode } = code.json<{ device_code: string }>();
    const poll = (p: TestPortal, deviceCodeSent: string) =>
      p.app.inject({ method: 'POST', url: '/v1/auth/device/token', remoteAddress: '198.51.100.31', payload: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCodeSent } });
    const pending = await poll(B, deviceCode);
    expect(pending.statusCode, pending.body).toBe(400);
    expect(pending.json()).toMatchObject({ error: 'authorization_pending' });
    // Polled again at once, on the other instance: too soon for the code's interval.
    expect((await poll(A, deviceCode)).json()).toMatchObject({ error: 'slow_down' });
    expect((await poll(B, 'no-such-code')).json()).toMatchObject({ error: 'invalid_grant' });
  });
});
