import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { systemResolver } from '../../src/features/notifications/outbound-address.js';
import { runJobs, TestClock } from '../support/accounts.js';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { describeOnSqlite, type TestPortal } from '../support/portal.js';
import { createWebhook, deliveries, ping, startReceiver } from '../support/webhooks.js';

/**
 * Webhooks never reach the portal's own network (DESIGN.md's security model), with the defaults:
 * WEBHOOK_ALLOW_PRIVATE unset. Plain http is allowed here only so that local receivers can stand
 * in for hosts; the address rule is what is tested. Host names resolve through a map (falling
 * back to real DNS, for `localhost`), and one receiver on 127.0.0.1, `allowed`, is let through
 * the rule to play a public host. `internal` plays what an attacker wants to reach: it must
 * never be contacted.
 */

let allowed: Awaited<ReturnType<typeof startReceiver>>;
let internal: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  allowed = await startReceiver();
  internal = await startReceiver();
});
afterEach(() => {
  allowed.reset();
  internal.reset();
});
afterAll(async () => {
  await allowed.close();
  await internal.close();
});

const NAMES: Record<string, string[]> = {
  'public.example': ['93.184.216.34'],
  'evil.example': ['10.0.0.1'],
  'sneaky.example': ['127.0.0.1'],
  'metadata.example': ['169.254.169.254'],
  'mixed.example': ['93.184.216.34', '127.0.0.1'],
  'v6.example': ['::ffff:127.0.0.1'],
  'receiver.example': ['127.0.0.1'],
};

const network = () => ({
  resolve: (host: string) => {
    const mapped = NAMES[host];
    return mapped ? Promise.resolve(mapped.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }))) : systemResolver(host);
  },
  exempt: (address: string, port: number) => address === '127.0.0.1' && port === allowed.port,
});

async function developerWithApp(p: TestPortal): Promise<{ user: TestUser; appId: string }> {
  const user = await registerUser(p, 'Ssrf');
  const app = await createApp(p, user, `com.example.ssrf${Math.floor(Math.random() * 1e9)}`);
  return { user, appId: app.id };
}

/**
 * A webhook whose stored URL is `url`: created with a harmless one, then rewritten in the
 * database, as a URL stored while WEBHOOK_ALLOW_PRIVATE was on would be. Pinged once; answers
 * its delivery after the attempt.
 */
async function deliverTo(p: TestPortal, user: TestUser, appId: string, url: string) {
  const hook = await createWebhook(p, user, appId, { url: 'http://public.example/hook', events: ['*'] });
  await p.database.db.updateTable('webhooks').set({ url }).where('id', '=', hook.id).execute();
  const pinged = await ping(p, user, appId, hook.id);
  await runJobs(p);
  const [delivery] = await deliveries(p, user, appId, hook.id);
  expect(delivery?.id).toBe(pinged.id);
  return delivery;
}

describeOnSqlite(
  'webhooks: outbound requests stay off private networks',
  (portal) => {
    it.each([
      ['http://127.0.0.1:{internal}/hook', /Not sent: 127\.0\.0\.1 is a loopback address/],
      ['http://169.254.169.254/latest/meta-data/', /Not sent: 169\.254\.169\.254 is a link-local address/],
      ['http://10.0.0.1/hook', /Not sent: 10\.0\.0\.1 is a private address/],
      ['http://[::1]:{internal}/hook', /Not sent: ::1 is a loopback address/],
      ['http://[::ffff:127.0.0.1]:{internal}/hook', /Not sent: .*loopback/],
      ['http://localhost:{internal}/hook', /Not sent: localhost resolves to an address that may not be reached \(.*loopback/],
      ['http://evil.example:{internal}/hook', /Not sent: evil\.example resolves to an address that may not be reached \(.*private/],
      ['http://sneaky.example:{internal}/hook', /Not sent: sneaky\.example resolves to an address that may not be reached \(.*loopback/],
      ['http://metadata.example/latest/meta-data/', /Not sent: metadata\.example resolves to an address that may not be reached \(.*link-local/],
      ['http://mixed.example:{internal}/hook', /Not sent: mixed\.example resolves to an address that may not be reached \(.*loopback/],
      ['http://v6.example:{internal}/hook', /Not sent: v6\.example resolves to an address that may not be reached \(.*loopback/],
      // The exempt receiver's address, on another port: the exemption is that one port's.
      ['http://receiver.example:{internal}/hook', /Not sent: receiver\.example resolves to an address that may not be reached \(.*loopback/],
    ])('refuses to deliver to %s, contacting nothing', async (template, why) => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const delivery = await deliverTo(p, user, appId, template.replace('{internal}', String(internal.port)));
      expect(delivery).toMatchObject({ state: 'pending', attempts: 1, response_status: null, response_body: null });
      expect(delivery?.error).toMatch(why);
      expect(internal.received).toEqual([]);
    });

    it('refuses private IP literals and localhost when the webhook is created or changed', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      for (const url of ['http://127.0.0.1/hook', 'http://169.254.169.254/', 'http://10.0.0.1/hook', 'http://[::1]/hook', 'http://[fd00::1]/hook', 'http://localhost/hook']) {
        const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks`, headers: user.auth, payload: { url, events: ['*'] } });
        const problem = expectProblem(res, 422, 'webhook_url_invalid');
        expect(problem.errors).toEqual([expect.objectContaining({ path: 'body.url' })]);
      }
      expect(await p.database.db.selectFrom('webhooks').select('id').execute()).toEqual([]);
      const hook = await createWebhook(p, user, appId, { url: 'http://public.example/hook', events: ['*'] });
      expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}/webhooks/${hook.id}`, headers: user.auth, payload: { url: 'http://192.168.1.1/' } }), 422, 'webhook_url_invalid');
    });

    it('connects to the address it checked, under the original host name, and follows no redirect to a private address', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      allowed.answer({ status: 302, headers: { location: `http://127.0.0.1:${internal.port}/steal` }, body: 'moved' });
      // receiver.example is no real name: only the pinned, checked address can have reached it.
      const delivery = await deliverTo(p, user, appId, `http://receiver.example:${allowed.port}/hook`);
      expect(allowed.received).toHaveLength(1);
      expect(allowed.received[0]?.headers.host).toBe(`receiver.example:${allowed.port}`);
      expect(delivery).toMatchObject({ state: 'pending', response_status: 302, response_body: 'moved', error: 'Answered 302: a redirect, which is never followed.' });
      expect(internal.received).toEqual([]);
    });
  },
  {
    env: () => ({ WEBHOOK_ALLOW_HTTP: 'true' }),
    deps: () => ({ clock: new TestClock(), webhookNetwork: network() }),
  },
);
