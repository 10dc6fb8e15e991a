import { afterEach, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/api.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';

const login = (p: TestPortal, email: string, password: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  p.app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress, headers, payload: { email, password } });

async function failedLoginIps(p: TestPortal, email: string): Promise<(string | null)[]> {
  const rows = await p.database.db.selectFrom('audit_log').select(['ip', 'details']).where('action', '=', 'login.failed').orderBy('id').execute();
  return rows.filter((r) => (JSON.parse(r.details) as { email?: string }).email === email).map((r) => r.ip);
}

describeOnSqlite(
  'the client IP behind TRUST_PROXY',
  (portal) => {
    it('ignores X-Forwarded-For from a peer that is not a listed proxy: the audit log and the rate limit see the real peer', async () => {
      const p = portal();
      const email = 'nobody@example.com';
      expectProblem(await login(p, email, 'wrong password!', '203.0.113.5', { 'x-forwarded-for': '198.51.100.77' }), 401, 'invalid_credentials');
      // A new forged address does not buy a new per-IP budget (1 per window here).
      expectProblem(await login(p, email, 'wrong password!', '203.0.113.5', { 'x-forwarded-for': '198.51.100.78' }), 429, 'rate_limited');
      expect(await failedLoginIps(p, email)).toEqual(['203.0.113.5']);
    });

    it('believes X-Forwarded-For from a listed proxy', async () => {
      const p = portal();
      const email = 'someone@example.com';
      expectProblem(await login(p, email, 'wrong password!', '10.9.9.9', { 'x-forwarded-for': '198.51.100.77' }), 401, 'invalid_credentials');
      expectProblem(await login(p, email, 'wrong password!', '10.9.9.9', { 'x-forwarded-for': '198.51.100.78' }), 401, 'invalid_credentials');
      expect(await failedLoginIps(p, email)).toEqual(['198.51.100.77', '198.51.100.78']);
    });

    it('counts an IPv6 client by its /64: a fresh address from the same network buys no new per-IP budget', async () => {
      const p = portal();
      // One budget per window here; different emails, so only the per-IP rule can refuse.
      expectProblem(await login(p, 'six-a@example.com', 'wrong password!', '2001:db8:1:2::1'), 401, 'invalid_credentials');
      expectProblem(await login(p, 'six-b@example.com', 'wrong password!', '2001:db8:1:2:ffff:ffff:ffff:fffe'), 429, 'rate_limited');
      // Through the listed proxy too, and in another spelling of the same network.
      expectProblem(await login(p, 'six-c@example.com', 'wrong password!', '10.9.9.9', { 'x-forwarded-for': '2001:0db8:0001:0002:0:0:0:7' }), 429, 'rate_limited');
      // Another /64 is another client.
      expectProblem(await login(p, 'six-d@example.com', 'wrong password!', '2001:db8:1:3::1'), 401, 'invalid_credentials');
      // A dual-stack socket's IPv4-mapped address is that IPv4 client.
      expectProblem(await login(p, 'four-a@example.com', 'wrong password!', '203.0.113.9'), 401, 'invalid_credentials');
      expectProblem(await login(p, 'four-b@example.com', 'wrong password!', '::ffff:203.0.113.9'), 429, 'rate_limited');
    });
  },
  { env: () => ({ TRUST_PROXY: '10.9.9.9', AUTH_RATE_LIMIT_PER_IP: '1', AUTH_RATE_LIMIT_PER_ACCOUNT: '5' }) },
);

describe('rate limits under a flood of refused requests [sqlite]', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  // The limiter's own test floods the real 50 000-counter table; here a table of 1 000 keeps it quick.
  it("keep the victim's account limited after more refused logins for random accounts than the limiter holds counters", async () => {
    const started = await startPortal('sqlite', { AUTH_RATE_LIMIT_PER_IP: '1', AUTH_RATE_LIMIT_PER_ACCOUNT: '2', LOG_LEVEL: 'warn' }, { rateLimitCapacity: 1000 });
    stop = started.stop;
    const p = started.portal;
    // The counter is per email, account or not: no sign-up needed to show it stands.
    const victim = { email: 'victim@example.com' };
    // Two guesses from two addresses spend the account's budget; a third is refused.
    for (const ip of ['10.0.0.1', '10.0.0.2']) expectProblem(await login(p, victim.email, 'not the password', ip), 401, 'invalid_credentials');
    expectProblem(await login(p, victim.email, 'not the password', '10.0.0.3'), 429, 'rate_limited');

    // The attacker's address spends its own budget, then floods logins for accounts that do not exist.
    expectProblem(await login(p, 'junk-0@example.com', 'whatever it is', '10.1.1.1'), 401, 'invalid_credentials');
    for (let i = 1; i <= 1500; i += 1) {
      const res = await login(p, `junk-${i}@example.com`, 'whatever it is', '10.1.1.1');
      if (res.statusCode !== 429) expect.fail(`junk login ${i} answered ${res.statusCode}`);
    }

    // A fresh address gets no more guesses at the victim until the window ends.
    expectProblem(await login(p, victim.email, 'not the password', '10.0.0.4'), 429, 'rate_limited');
  });
});
