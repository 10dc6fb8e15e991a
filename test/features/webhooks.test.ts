import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readEventsAfter, type DomainEvent } from '../../src/events/index.js';
import { MAX_PENDING_DELIVERIES, MAX_WEBHOOKS_PER_APP, WEBHOOK_JOB } from '../../src/features/notifications/index.js';
import { runJobs, signInAdmin, TestClock } from '../support/accounts.js';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';
import { createWebhook, deliveries, ping, startReceiver, verifyMosisWebhook } from '../support/webhooks.js';

/** Per-app signed webhooks (features/notifications, docs/webhooks.md), against a real receiver on 127.0.0.1. */

let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterEach(() => receiver.reset());
afterAll(async () => {
  await receiver.close();
});

let clock: TestClock;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A LAN receiver over plain http: what these two variables are for. */
const lan = { env: () => ({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_ALLOW_HTTP: 'true' }), deps: () => ({ clock: (clock = new TestClock()) }) };

/** The receiver's requests of one delivery id (the file's tests share the receiver). */
const requestsOf = (deliveryId: string) => receiver.received.filter((r) => r.headers['mosis-webhook-id'] === deliveryId);

/**
 * A developer with an app, calling with an API key (apps:read, apps:write) that never expires:
 * these tests move the clock by days, past any access token's 15 minutes.
 */
async function developerWithApp(p: TestPortal, packageId = `com.example.hooks${Math.floor(Math.random() * 1e9)}`): Promise<{ user: TestUser; appId: string }> {
  const signedIn = await registerUser(p, 'Hooks');
  const app = await createApp(p, signedIn, packageId);
  const key = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: signedIn.auth, payload: { name: 'hooks', scopes: ['apps:read', 'apps:write'] } });
  expect(key.statusCode, key.body).toBe(201);
  return { user: { ...signedIn, auth: { authorization: `Bearer ${key.json<{ key: string }>().key}` } }, appId: app.id };
}

async function lastEvent(p: TestPortal, type: string): Promise<DomainEvent> {
  const found = (await readEventsAfter(p.database.db, 0, 1000)).filter((e) => e.type === type).at(-1);
  if (!found) throw new Error(`no ${type} event`);
  return found;
}

const dispatch = (p: TestPortal, event: DomainEvent) => p.database.db.transaction().execute((trx) => p.core.webhooks.dispatch(trx, event));

// Both dialects: the delivery insert with its partial unique index (on conflict do nothing), the
// bigint event id, the job queue's retries, and the disabling transaction with its event.
describeEachDatabase(
  'webhooks: dispatch, signature, retries',
  (portal) => {
    it('delivers a subscribed event once, signed as documented, retried after two 500s, and logs every attempt', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['listing.changed'] });
      const other = await createWebhook(p, user, appId, { url: receiver.url, events: ['version.published'] });
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

      const renamed = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}`, headers: user.auth, payload: { name: 'Renamed' } });
      expect(renamed.statusCode, renamed.body).toBe(200);
      const event = await lastEvent(p, 'listing.changed');
      expect(await dispatch(p, event)).toBe(1);
      // The fan-out replaying the event (a crash before its position moved) adds nothing.
      expect(await dispatch(p, event)).toBe(0);
      expect(await deliveries(p, user, appId, other.id)).toEqual([]);

      receiver.answer({ status: 500, body: 'down' }, { status: 500, body: 'still down' });
      let [delivery] = await deliveries(p, user, appId, hook.id);
      const sent = () => requestsOf(delivery?.id ?? '').length;
      // Other features' jobs (a sign-up's mail) run too: counted here are the receiver's requests.
      await runJobs(p);
      expect(sent()).toBe(1);
      [delivery] = await deliveries(p, user, appId, hook.id);
      expect(delivery).toMatchObject({ event_id: event.id, event_type: 'listing.changed', state: 'pending', attempts: 1, response_status: 500, response_body: 'down', error: 'Answered 500.' });
      const listed = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks`, headers: user.auth });
      expect(listed.json().items.find((w: { id: string }) => w.id === hook.id).failing_since).toBe(clock.now().toISOString());

      // Not due before its backoff (60 s, half of it jitter); due after.
      await runJobs(p);
      expect(sent()).toBe(1);
      clock.advance(MINUTE);
      await runJobs(p);
      expect(sent()).toBe(2);
      clock.advance(2 * MINUTE);
      await runJobs(p);
      expect(sent()).toBe(3);
      [delivery] = await deliveries(p, user, appId, hook.id);
      expect(delivery).toMatchObject({ state: 'succeeded', attempts: 3, response_status: 200, response_body: 'ok', error: null, attempted_at: clock.now().toISOString() });
      expect(delivery?.duration_ms).toEqual(expect.any(Number));
      const after = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks`, headers: user.auth });
      expect(after.json().items.find((w: { id: string }) => w.id === hook.id).failing_since).toBeNull();

      // Three requests, one delivery: same id and body, each signed at its own time.
      const requests = requestsOf(delivery?.id ?? '');
      expect(requests).toHaveLength(3);
      expect(new Set(requests.map((r) => r.body)).size).toBe(1);
      expect(new Set(requests.map((r) => r.headers['mosis-timestamp'])).size).toBe(3);
      const last = requests[2];
      expect(last?.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'MosisPortal-Webhook/1', 'mosis-event': 'listing.changed', 'mosis-timestamp': String(Math.floor(clock.now().getTime() / 1000)) });
      expect(verifyMosisWebhook(hook.secret, last?.headers ?? {}, last?.body ?? '', clock.now().getTime())).toBe(true);
      expect(verifyMosisWebhook(other.secret, last?.headers ?? {}, last?.body ?? '', clock.now().getTime())).toBe(false);
      expect(verifyMosisWebhook(hook.secret, last?.headers ?? {}, `${last?.body ?? ''} `, clock.now().getTime())).toBe(false);
      // A replay of a captured request is refused once it is over five minutes old.
      expect(verifyMosisWebhook(hook.secret, last?.headers ?? {}, last?.body ?? '', clock.now().getTime() + 6 * MINUTE)).toBe(false);
      expect(JSON.parse(last?.body ?? '')).toEqual({ id: delivery?.id, event_id: event.id, type: 'listing.changed', created_at: event.createdAt, app_id: appId, data: event.payload });

      // Settled: nothing more is sent, however long one waits.
      clock.advance(DAY);
      await runJobs(p);
      expect(sent()).toBe(3);
    });

    it('"*" subscribes to every app event; inactive webhooks and other apps get nothing', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const all = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const off = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'], active: false });
      const elsewhere = await developerWithApp(p);
      const theirs = await createWebhook(p, elsewhere.user, elsewhere.appId, { url: receiver.url, events: ['*'] });
      await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}`, headers: user.auth, payload: { summary: 'Changed' } });
      expect(await dispatch(p, await lastEvent(p, 'listing.changed'))).toBe(1);
      expect(await dispatch(p, await lastEvent(p, 'app.created'))).toBe(0);
      expect((await deliveries(p, user, appId, all.id)).map((d) => d.event_type)).toEqual(['listing.changed']);
      expect(await deliveries(p, user, appId, off.id)).toEqual([]);
      expect(await deliveries(p, elsewhere.user, elsewhere.appId, theirs.id)).toEqual([]);
    });

    it('a change reaches the receiver through the notifications fan-out, once, however often the fan-out runs', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['listing.changed'] });
      const changed = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}`, headers: user.auth, payload: { summary: 'Through the fan-out' } });
      expect(changed.statusCode, changed.body).toBe(200);
      await p.core.notificationFanout.settle();
      await p.core.notificationFanout.settle();
      await runJobs(p);
      const [delivery] = await deliveries(p, user, appId, hook.id);
      expect(delivery).toMatchObject({ event_type: 'listing.changed', state: 'succeeded', attempts: 1 });
      const requests = requestsOf(delivery?.id ?? '');
      expect(requests).toHaveLength(1);
      expect(JSON.parse(requests[0]?.body ?? '{}')).toMatchObject({ type: 'listing.changed', app_id: appId, data: { fields: expect.arrayContaining(['summary']) } });
      expect(verifyMosisWebhook(hook.secret, requests[0]?.headers ?? {}, requests[0]?.body ?? '', clock.now().getTime())).toBe(true);
    });

    it('records an answer holding NUL bytes (PostgreSQL text refuses them), so the delivery settles', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['listing.changed'] });
      const pinged = await ping(p, user, appId, hook.id);
      receiver.answer({ status: 200, body: 'ok\u0000then\u0000more' });
      await runJobs(p);
      const [delivery] = await deliveries(p, user, appId, hook.id);
      expect(delivery).toMatchObject({ id: pinged.id, state: 'succeeded', attempts: 1, response_body: 'ok\uFFFDthen\uFFFDmore' });
    });

    it('turns a webhook off when its deliveries have failed for more than three days, emitting webhook.disabled', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const failingFrom = clock.now().toISOString();
      const first = await ping(p, user, appId, hook.id);
      receiver.answer({ status: 503 }, { status: 503 });
      await runJobs(p);
      expect(requestsOf(first.id)).toHaveLength(1);
      expect((await deliveries(p, user, appId, hook.id))[0]).toMatchObject({ state: 'pending', attempts: 1, response_status: 503 });

      // Its retry, more than three days after the first failure, fails too: the webhook goes off.
      clock.advance(3 * DAY + MINUTE);
      await runJobs(p);
      expect(requestsOf(first.id)).toHaveLength(2);
      const shown = (await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks`, headers: user.auth })).json().items[0];
      expect(shown).toMatchObject({ id: hook.id, active: false, failing_since: failingFrom });
      expect(shown.disabled_reason).toMatch(`Every delivery failed since ${failingFrom}`);
      const disabled = (await readEventsAfter(p.database.db, 0, 1000)).filter((e) => e.type === 'webhook.disabled');
      expect(disabled).toEqual([expect.objectContaining({ appId, actorId: null, payload: { webhook_id: hook.id, host: new URL(receiver.url).host } })]);

      // Its next retry is not sent to a webhook that is off: the delivery fails.
      expect((await deliveries(p, user, appId, hook.id))[0]).toMatchObject({ state: 'pending', attempts: 2 });
      clock.advance(DAY);
      await runJobs(p);
      expect(requestsOf(first.id)).toHaveLength(2);
      expect(await deliveries(p, user, appId, hook.id)).toEqual([expect.objectContaining({ id: first.id, state: 'failed', attempts: 2, error: 'Not sent: the webhook is not active.' })]);
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${hook.id}/ping`, headers: user.auth }), 409, 'webhook_inactive');

      // Turned on again: a fresh start.
      const on = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}/webhooks/${hook.id}`, headers: user.auth, payload: { active: true } });
      expect(on.statusCode, on.body).toBe(200);
      expect(on.json()).toMatchObject({ active: true, disabled_reason: null, failing_since: null });
      const third = await ping(p, user, appId, hook.id);
      await runJobs(p);
      expect((await deliveries(p, user, appId, hook.id))[0]).toMatchObject({ id: third.id, state: 'succeeded', attempts: 1 });
    });
  },
  lan,
);

describeOnSqlite(
  'webhooks: ping, redelivery, the last attempt',
  (portal) => {
    it('keeps a bounded backlog per webhook: past it events are logged as not sent and pings refused', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['listing.changed'] });
      // The receiver is down for long: nothing is run, every delivery waits.
      const event = (id: number): DomainEvent => ({ id: 1_000 + id, type: 'listing.changed', appId, actorId: null, payload: { n: id }, createdAt: clock.now().toISOString() });
      for (let i = 0; i < MAX_PENDING_DELIVERIES; i += 1) await dispatch(p, event(i));
      expect(await dispatch(p, event(MAX_PENDING_DELIVERIES))).toBe(1);
      const logged = await p.database.db.selectFrom('webhook_deliveries').select(['event_id', 'state', 'attempts', 'error']).where('state', '!=', 'pending').execute();
      expect(logged).toEqual([{ event_id: 1_000 + MAX_PENDING_DELIVERIES, state: 'failed', attempts: 0, error: `Not sent: ${MAX_PENDING_DELIVERIES} deliveries were already waiting for this webhook.` }]);
      const jobs = await p.database.db.selectFrom('jobs').select('id').where('kind', '=', WEBHOOK_JOB).execute();
      expect(jobs).toHaveLength(MAX_PENDING_DELIVERIES);
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${hook.id}/ping`, headers: user.auth }), 429, 'webhook_backlog_full');
    });

    it("sends nothing for a suspended developer's apps: no new deliveries, and waiting ones end unsent", async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['listing.changed'] });
      const waiting = await ping(p, user, appId, hook.id);
      const admin = await signInAdmin(p, clock);
      const suspended = await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: admin.auth, payload: { status: 'suspended' } });
      expect(suspended.statusCode, suspended.body).toBe(200);
      const event: DomainEvent = { id: 5_000, type: 'listing.changed', appId, actorId: null, payload: {}, createdAt: clock.now().toISOString() };
      expect(await dispatch(p, event)).toBe(0);
      await runJobs(p);
      expect(requestsOf(waiting.id)).toHaveLength(0);
      const row = await p.database.db.selectFrom('webhook_deliveries').select(['state', 'error']).where('id', '=', waiting.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ state: 'failed', error: "Not sent: the app's owner is suspended." });
    });

    it('pings, redelivers the same body under a new delivery id, and keeps only 1 KiB of an answer', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['version.published', 'version.yanked'] });
      const pinged = await ping(p, user, appId, hook.id);
      expect(pinged).toMatchObject({ event_id: null, event_type: 'ping', state: 'pending', attempts: 0, redelivery_of: null });
      receiver.answer({ status: 200, body: 'é'.repeat(3000) });
      await runJobs(p);
      const [done] = await deliveries(p, user, appId, hook.id);
      expect(done).toMatchObject({ id: pinged.id, state: 'succeeded', attempts: 1, response_status: 200 });
      expect(Buffer.byteLength(done?.response_body ?? '')).toBeLessThanOrEqual(1024 + 2);
      expect(done?.response_body?.startsWith('é'.repeat(500))).toBe(true);
      const [request] = requestsOf(pinged.id);
      expect(request?.headers['mosis-event']).toBe('ping');
      expect(verifyMosisWebhook(hook.secret, request?.headers ?? {}, request?.body ?? '', clock.now().getTime())).toBe(true);
      expect(JSON.parse(request?.body ?? '')).toEqual({ id: pinged.id, event_id: null, type: 'ping', created_at: expect.any(String), app_id: appId, data: { webhook_id: hook.id, events: ['version.published', 'version.yanked'] } });

      clock.advance(MINUTE);
      const again = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${hook.id}/deliveries/${pinged.id}/redeliver`, headers: user.auth });
      expect(again.statusCode, again.body).toBe(202);
      const redelivery = again.json();
      expect(redelivery).toMatchObject({ event_type: 'ping', state: 'pending', redelivery_of: pinged.id });
      expect(redelivery.id).not.toBe(pinged.id);
      await runJobs(p);
      const [resent] = requestsOf(redelivery.id);
      expect(resent?.body).toBe(request?.body);
      expect(verifyMosisWebhook(hook.secret, resent?.headers ?? {}, resent?.body ?? '', clock.now().getTime())).toBe(true);
      expect((await deliveries(p, user, appId, hook.id)).map((d) => [d.id, d.state])).toEqual([
        [redelivery.id, 'succeeded'],
        [pinged.id, 'succeeded'],
      ]);
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${hook.id}/deliveries/nope/redeliver`, headers: user.auth }), 404, 'webhook_delivery_not_found');
    });

    it('pages the delivery log with a cursor', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.unshift((await ping(p, user, appId, hook.id)).id);
        clock.advance(1000);
      }
      const page = async (query: string) => (await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks/${hook.id}/deliveries?${query}`, headers: user.auth })).json();
      const first = await page('limit=2');
      expect(first.items.map((d: { id: string }) => d.id)).toEqual(ids.slice(0, 2));
      const second = await page(`limit=2&cursor=${first.next_cursor}`);
      expect(second).toEqual({ items: [expect.objectContaining({ id: ids[2] })], next_cursor: null });
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks/${hook.id}/deliveries?limit=101`, headers: user.auth }), 400, 'validation_failed');
    });

    it('gives up after the last of 16 attempts: the delivery is failed and its job done, not dead', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const pinged = await ping(p, user, appId, hook.id);
      receiver.answer(...Array.from({ length: 16 }, () => ({ status: 502 })));
      for (let attempt = 1; attempt <= 16; attempt++) {
        await runJobs(p);
        expect(requestsOf(pinged.id), `attempt ${attempt}`).toHaveLength(attempt);
        clock.advance(4 * 60 * MINUTE);
      }
      await runJobs(p);
      expect(requestsOf(pinged.id)).toHaveLength(16);
      expect((await deliveries(p, user, appId, hook.id))[0]).toMatchObject({ state: 'failed', attempts: 16, response_status: 502, error: 'Answered 502.' });
      const job = await p.database.db.selectFrom('jobs').select(['state', 'attempts']).where('kind', '=', WEBHOOK_JOB).where('key', '=', pinged.id).executeTakeFirstOrThrow();
      expect(job).toEqual({ state: 'done', attempts: 16 });
      // Within 16 to 32 hours: far from the three days that turn a webhook off.
      expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks`, headers: user.auth })).json().items[0].active).toBe(true);
    });

    it('keeps the secret out of every answer but the first, and out of the database', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const answers = [
        await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks`, headers: user.auth }),
        await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}/webhooks/${hook.id}`, headers: user.auth, payload: { events: ['version.published'] } }),
        await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${hook.id}/ping`, headers: user.auth }),
      ];
      await runJobs(p);
      answers.push(await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks/${hook.id}/deliveries`, headers: user.auth }));
      for (const res of answers) {
        expect(res.statusCode, res.body).toBeLessThan(300);
        expect(res.body).not.toContain(hook.secret);
        expect(res.body).not.toContain('"secret"');
      }
      const tables = ['webhooks', 'webhook_deliveries', 'jobs', 'audit_log', 'events'] as const;
      for (const table of tables) {
        const rows = await p.database.db.selectFrom(table).selectAll().execute();
        expect(JSON.stringify(rows), table).not.toContain(hook.secret.slice('whsec_'.length));
      }
      expect(p.logs()).not.toContain(hook.secret.slice('whsec_'.length));

      // A rotated secret is shown once too, and signs from then on.
      const rotated = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${hook.id}/rotate-secret`, headers: user.auth });
      expect(rotated.statusCode, rotated.body).toBe(200);
      const secret = rotated.json().secret as string;
      expect(secret).not.toBe(hook.secret);
      const pinged = await ping(p, user, appId, hook.id);
      await runJobs(p);
      const [request] = requestsOf(pinged.id);
      expect(verifyMosisWebhook(secret, request?.headers ?? {}, request?.body ?? '', clock.now().getTime())).toBe(true);
      expect(verifyMosisWebhook(hook.secret, request?.headers ?? {}, request?.body ?? '', clock.now().getTime())).toBe(false);
    });

    it("answers another developer 404 on every webhook route of someone else's app, changing nothing", async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const pinged = await ping(p, user, appId, hook.id);
      const stranger = await registerUser(p, 'Stranger');
      const base = `/v1/apps/${appId}/webhooks`;
      const calls = [
        { method: 'GET', url: base },
        { method: 'POST', url: base, payload: { url: receiver.url, events: ['*'] } },
        { method: 'PATCH', url: `${base}/${hook.id}`, payload: { active: false } },
        { method: 'DELETE', url: `${base}/${hook.id}` },
        { method: 'POST', url: `${base}/${hook.id}/rotate-secret` },
        { method: 'GET', url: `${base}/${hook.id}/deliveries` },
        { method: 'POST', url: `${base}/${hook.id}/deliveries/${pinged.id}/redeliver` },
        { method: 'POST', url: `${base}/${hook.id}/ping` },
      ] as const;
      const before = await p.database.db.selectFrom('webhooks').selectAll().execute();
      for (const call of calls) expectProblem(await p.app.inject({ ...call, headers: stranger.auth }), 404, 'app_not_found');
      expect(await p.database.db.selectFrom('webhooks').selectAll().execute()).toEqual(before);
      expect(await p.database.db.selectFrom('webhook_deliveries').select('id').execute()).toEqual([{ id: pinged.id }]);
    });

    it('deletes a webhook with its log; its queued delivery then sends nothing', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const hook = await createWebhook(p, user, appId, { url: receiver.url, events: ['*'] });
      const pinged = await ping(p, user, appId, hook.id);
      const gone = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${appId}/webhooks/${hook.id}`, headers: user.auth });
      expect(gone.statusCode, gone.body).toBe(204);
      await runJobs(p);
      expect(requestsOf(pinged.id)).toHaveLength(0);
      expect(await p.database.db.selectFrom('jobs').select('state').where('key', '=', pinged.id).execute()).toEqual([{ state: 'done' }]);
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks/${hook.id}/deliveries`, headers: user.auth }), 404, 'webhook_not_found');
      const audit = await p.database.db.selectFrom('audit_log').select(['action', 'target_id']).where('action', 'like', 'webhook.%').orderBy('at').execute();
      expect(audit).toEqual([
        { action: 'webhook.created', target_id: hook.id },
        { action: 'webhook.deleted', target_id: hook.id },
      ]);
    });
  },
  lan,
);

describeOnSqlite(
  'webhooks: what may be stored (https only, no private addresses: the defaults)',
  (portal) => {
    const refused = async (p: TestPortal, user: TestUser, appId: string, body: Record<string, unknown>, status: number, code: string, path: string) => {
      const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks`, headers: user.auth, payload: body });
      const problem = expectProblem(res, status, code);
      expect(problem.errors, JSON.stringify(problem)).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      return problem;
    };

    it('refuses bad URLs and event types with a problem naming the field, storing nothing', async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      const events = ['*'];
      const url = (u: string) => refused(p, user, appId, { url: u, events }, 422, 'webhook_url_invalid', 'body.url');
      expect((await url('http://hooks.example.com/mosis')).detail).toMatch(/must use https/);
      expect((await url('https://user:pass@hooks.example.com/mosis')).detail).toMatch(/user name or password/);
      expect((await url('https://hooks.example.com/mosis#part')).detail).toMatch(/fragment/);
      expect((await url('ftp://hooks.example.com/mosis')).detail).toMatch(/must use https/);
      expect((await url('/relative')).detail).toMatch(/absolute URL/);
      expect((await url('https://10.0.0.1/mosis')).detail).toMatch(/10\.0\.0\.1 is a private address/);
      expect((await url('https://[::1]/mosis')).detail).toMatch(/loopback/);
      expect((await url('https://localhost./mosis')).detail).toMatch(/own machine/);
      await refused(p, user, appId, { url: `https://hooks.example.com/${'a'.repeat(2048)}`, events }, 400, 'validation_failed', 'body.url');
      const unknown = await refused(p, user, appId, { url: 'https://hooks.example.com/mosis', events: ['version.published', 'version.exploded'] }, 400, 'validation_failed', 'body.events.1');
      expect(JSON.stringify(unknown.errors)).toMatch(/version\.approved/);
      await refused(p, user, appId, { url: 'https://hooks.example.com/mosis', events: [] }, 400, 'validation_failed', 'body.events');
      await refused(p, user, appId, { url: 'https://hooks.example.com/mosis', events: ['notification.created'] }, 400, 'validation_failed', 'body.events.0');
      await refused(p, user, appId, { url: 'https://hooks.example.com/mosis', events: ['*', 'version.published'] }, 400, 'validation_failed', 'body.events');
      expect(await p.database.db.selectFrom('webhooks').select('id').execute()).toEqual([]);

      const ok = await createWebhook(p, user, appId, { url: 'https://hooks.example.com/mosis', events: ['version.published'] });
      const patched = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}/webhooks/${ok.id}`, headers: user.auth, payload: { url: 'http://hooks.example.com/mosis' } });
      expectProblem(patched, 422, 'webhook_url_invalid');
      expect((await p.database.db.selectFrom('webhooks').select('url').executeTakeFirstOrThrow()).url).toBe('https://hooks.example.com/mosis');
    });

    it(`allows at most ${MAX_WEBHOOKS_PER_APP} webhooks per app`, async () => {
      const p = portal();
      const { user, appId } = await developerWithApp(p);
      for (let i = 0; i < MAX_WEBHOOKS_PER_APP; i++) await createWebhook(p, user, appId, { url: `https://hooks.example.com/${i}`, events: ['*'] });
      const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks`, headers: user.auth, payload: { url: 'https://hooks.example.com/one-more', events: ['*'] } });
      expectProblem(res, 409, 'webhook_limit_reached');
      expect(await p.database.db.selectFrom('webhooks').select('id').execute()).toHaveLength(MAX_WEBHOOKS_PER_APP);
      // Another app of the same developer has its own 20.
      const second = await createApp(p, user, `com.example.second${Date.now()}`);
      await createWebhook(p, user, second.id, { url: 'https://hooks.example.com/second', events: ['*'] });
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);

