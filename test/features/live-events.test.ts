import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { appendEvent } from '../../src/events/index.js';
import { LiveStream } from '../../src/features/notifications/index.js';
import { PASSWORD, createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { signInAdmin, TestClock } from '../support/accounts.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';
import { approve, reviewWorld, upload } from '../support/review.js';

/** One event as the stream sent it. */
interface Received {
  id: string;
  type: string;
  data: { id: number; type: string; app_id: string | null; created_at: string; data: Record<string, unknown> };
}

/**
 * A real SSE client over node:http, reading the stream as it arrives (no buffering of the whole
 * answer): events, comment lines and `retry:` fields in the order they came.
 */
class SseClient {
  readonly events: Received[] = [];
  readonly comments: string[] = [];
  readonly retries: string[] = [];
  /** Resolves when the server ends the stream or the connection closes. */
  readonly ended: Promise<void>;
  private buffer = '';

  constructor(
    private readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.feed(chunk));
    this.ended = new Promise((resolve) => {
      res.once('close', resolve);
      res.once('end', resolve);
      res.once('error', () => resolve());
    });
  }

  get lastId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  async waitFor(what: string, ready: (client: SseClient) => boolean, ms = 5000): Promise<void> {
    const started = Date.now();
    while (!ready(this)) {
      if (Date.now() - started > ms) throw new Error(`stream: no ${what} within ${ms} ms; got ${JSON.stringify(this.types())} and comments ${JSON.stringify(this.comments)}`);
      await sleep(20);
    }
  }

  async waitForEvents(count: number, ms = 5000): Promise<Received[]> {
    await this.waitFor(`${count} events`, (c) => c.events.length >= count, ms);
    return this.events.slice(0, count);
  }

  close(): void {
    this.req.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else {
          const colon = line.indexOf(':');
          fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
        }
      }
      if (fields['retry'] !== undefined) this.retries.push(fields['retry']);
      if (fields['data'] !== undefined) {
        this.events.push({ id: fields['id'] ?? '', type: fields['event'] ?? 'message', data: JSON.parse(fields['data']) as Received['data'] });
      }
    }
  }
}

interface Refused {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** GET /v1/events on the listening portal: the open stream, or the refusal with its body. */
function stream(base: string, headers: Record<string, string>, query = ''): Promise<SseClient | Refused> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/v1/events${query}`, { headers, agent: false }, (res) => {
      if (res.statusCode === 200) {
        resolve(new SseClient(req, res));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
}

async function open(base: string, headers: Record<string, string>, query = ''): Promise<SseClient> {
  const s = await stream(base, headers, query);
  if (!(s instanceof SseClient)) throw new Error(`GET /v1/events answered ${s.statusCode}: ${s.body}`);
  // The stream is live once its first line is in: whatever happens after this reaches it.
  await s.waitFor('retry line', (c) => c.retries.length > 0);
  return s;
}

async function refused(base: string, headers: Record<string, string>, query = ''): Promise<Refused> {
  const s = await stream(base, headers, query);
  if (s instanceof SseClient) {
    s.close();
    throw new Error('GET /v1/events opened a stream where a refusal was expected');
  }
  return s;
}

async function listen(p: TestPortal): Promise<string> {
  await p.events.start();
  await p.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(p.app.server.address() as AddressInfo).port}`;
}

/** A change that appends `listing.changed` to the app's events. */
async function rename(p: TestPortal, user: { auth: Record<string, string> }, appId: string, name: string): Promise<void> {
  const res = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}`, headers: user.auth, payload: { name } });
  expect(res.statusCode, res.body).toBe(200);
}

async function apiKey(p: TestPortal, user: TestUser, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: user.auth, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Nothing more arrives for a while (a negative assertion needs some time to be worth anything). */
async function quiet(client: SseClient, count: number, ms = 400): Promise<void> {
  await sleep(ms);
  expect(client.types()).toHaveLength(count);
}

let clock: TestClock;

describeOnSqlite(
  'live events: GET /v1/events',
  (portal) => {
    it('brings the owner their version status changes and the review decision, the reviewer the queue, and nobody else anything', async () => {
      const p = portal();
      const base = await listen(p);
      const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Rita Reviewer']);
      const reviewer = reviewers[0] as TestUser;
      const other = await registerUser(p, 'Olga Other');

      const mine = await open(base, dev.auth);
      const theirs = await open(base, other.auth);
      const queue = await open(base, reviewer.auth);
      expect(mine.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(mine.retries).toEqual(['5000']);

      const version = await upload(p, dev, app, key, 1);
      await approve(p, reviewer, version.id);

      const got = await mine.waitForEvents(3);
      expect(got.map((e) => e.type)).toEqual(['version.submitted', 'version.checked', 'version.approved']);
      expect(got[1]?.data).toMatchObject({ type: 'version.checked', app_id: app.id, data: { version_id: version.id, status: 'pending_review' } });
      expect(got[2]?.data).toMatchObject({ type: 'version.approved', app_id: app.id, data: { version_id: version.id, decision: 'approve' } });
      for (const e of got) {
        expect(e.id).toBe(String(e.data.id));
        expect(e.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      }
      // Ids increase (they are the log's).
      expect(got.map((e) => e.data.id)).toEqual([...got.map((e) => e.data.id)].sort((a, b) => a - b));

      // The reviewer sees the queue (the version waiting, then decided), not the owner's upload itself.
      const queued = await queue.waitForEvents(2);
      expect(queued.map((e) => e.type)).toEqual(['version.checked', 'version.approved']);
      expect(queued.map((e) => e.id)).toEqual([got[1]?.id, got[2]?.id]);

      // Another developer: nothing of this. Their own change arrives, alone.
      const theirApp = await createApp(p, other, 'com.example.other');
      await theirs.waitForEvents(1);
      expect(theirs.events.map((e) => [e.type, e.data.app_id])).toEqual([['app.created', theirApp.id]]);
      // …and that app is nobody else's business either.
      await quiet(mine, 3);
      expect(queue.types()).toEqual(['version.checked', 'version.approved']);
      for (const c of [mine, theirs, queue]) c.close();
    });

    it('resumes after Last-Event-ID with exactly the events missed, in order, and from ?last_event_id= too', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p, 'Dana Developer');
      const app = await createApp(p, dev, 'com.example.resume');

      const first = await open(base, dev.auth);
      await rename(p, dev, app.id, 'One');
      const [seen] = await first.waitForEvents(1);
      first.close();
      await first.ended;

      await rename(p, dev, app.id, 'Two');
      await rename(p, dev, app.id, 'Three');

      const again = await open(base, { ...dev.auth, 'last-event-id': String(seen?.id) });
      const missed = await again.waitForEvents(2);
      expect(missed.map((e) => [e.type, e.data.data['fields']])).toEqual([
        ['listing.changed', ['name']],
        ['listing.changed', ['name']],
      ]);
      expect(Number(missed[0]?.id)).toBeGreaterThan(Number(seen?.id));
      expect(Number(missed[1]?.id)).toBeGreaterThan(Number(missed[0]?.id));
      await quiet(again, 2);
      // Live again after the catch-up.
      await rename(p, dev, app.id, 'Four');
      await again.waitForEvents(3);
      again.close();

      // A client that cannot set headers names the position in the URL; the header, when sent, wins.
      const byQuery = await open(base, dev.auth, `?last_event_id=${seen?.id}`);
      expect((await byQuery.waitForEvents(3)).map((e) => e.id)).toEqual([missed[0]?.id, missed[1]?.id, again.events[2]?.id]);
      byQuery.close();
      const headerWins = await open(base, { ...dev.auth, 'last-event-id': String(missed[1]?.id) }, `?last_event_id=${seen?.id}`);
      expect((await headerWins.waitForEvents(1)).map((e) => e.id)).toEqual([again.events[2]?.id]);
      await quiet(headerWins, 1, 200);
      headerWins.close();
    });

    it('starts from now without Last-Event-ID and with one above the newest event; refuses a malformed or negative one', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const app = await createApp(p, dev, 'com.example.fromnow');
      await rename(p, dev, app.id, 'Before');

      const fresh = await open(base, dev.auth);
      const future = await open(base, { ...dev.auth, 'last-event-id': '999999999' });
      await rename(p, dev, app.id, 'After');
      for (const s of [fresh, future]) {
        expect((await s.waitForEvents(1)).map((e) => e.data.data['fields'])).toEqual([['name']]);
        await quiet(s, 1, 100);
        s.close();
      }

      for (const bad of ['abc', '-1', '1.5', '1e3', '0x10', '99999999999999999999']) {
        const res = await refused(base, { ...dev.auth, 'last-event-id': bad });
        expectProblem(res, 400, 'invalid_last_event_id');
      }
      expectProblem(await refused(base, dev.auth, '?last_event_id=-5'), 400, 'invalid_last_event_id');
      expect(p.core.liveStream.stats().streams).toBe(0);
    });

    it('sends the stream headers, the security headers and a heartbeat comment every EVENTS_HEARTBEAT_SECONDS', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const s = await open(base, dev.auth);
      expect(s.res.headers).toMatchObject({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'content-security-policy': expect.stringContaining("default-src 'self'"),
        'x-request-id': expect.any(String),
      });
      expect(s.res.headers['content-encoding']).toBeUndefined();
      const started = Date.now();
      await s.waitFor('heartbeat', (c) => c.comments.includes('heartbeat'), 4000);
      // One second apart (EVENTS_HEARTBEAT_SECONDS=1), with room for a busy machine; the default is 20 s.
      expect(Date.now() - started).toBeLessThan(3000);
      await s.waitFor('second heartbeat', (c) => c.comments.filter((x) => x === 'heartbeat').length >= 2, 4000);
      s.close();
    });

    it('refuses a caller without credentials (401) and an API key without apps:read (403)', async () => {
      const p = portal();
      const base = await listen(p);
      const none = await refused(base, {});
      expectProblem(none, 401, 'unauthorized');
      expect(none.headers['www-authenticate']).toBe('Bearer');
      expectProblem(await refused(base, { authorization: 'Bearer not-a-token' }), 401, 'unauthorized');
      const dev = await registerUser(p);
      const { key } = await apiKey(p, dev, { name: 'upload only', scopes: ['versions:upload'] });
      expectProblem(await refused(base, { authorization: `Bearer ${key}` }), 403, 'insufficient_scope');
    });

    it('works with the web UI session cookie (no CSRF token on a GET) and ends when that session logs out', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const app = await createApp(p, dev, 'com.example.web');
      const login = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email: dev.email, password: PASSWORD } });
      expect(login.statusCode, login.body).toBe(200);
      const cookie = `mosis_session=${login.cookies.find((c) => c.name === 'mosis_session')?.value ?? ''}`;
      const csrf = login.json<{ csrf_token: string }>().csrf_token;

      const s = await open(base, { cookie });
      await rename(p, dev, app.id, 'Seen in the browser');
      expect((await s.waitForEvents(1)).map((e) => e.type)).toEqual(['listing.changed']);

      const out = await p.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrf } });
      expect(out.statusCode).toBe(204);
      // Checked again at the next heartbeat (1 s here).
      await Promise.race([s.ended, sleep(3000).then(() => Promise.reject(new Error('the stream outlived its session')))]);
      expect(s.comments).toContain('closed: credential');
      expect(p.core.liveStream.stats().streams).toBe(0);
      expectProblem(await refused(base, { cookie }), 401, 'unauthorized');
    });

    it('does not keep a web session alive: a stream left open ends when the session goes idle', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const login = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email: dev.email, password: PASSWORD } });
      const cookie = `mosis_session=${login.cookies.find((c) => c.name === 'mosis_session')?.value ?? ''}`;
      const s = await open(base, { cookie });
      // Heartbeats recheck the session (each second here); one 50 minutes in is not use.
      clock.advance(50 * 60_000);
      await sleep(1100);
      expect(p.core.liveStream.stats().streams).toBe(1);
      // Past WEB_SESSION_IDLE_MINUTES (60) without a request of the person's own: the session and its stream end.
      clock.advance(11 * 60_000);
      await Promise.race([s.ended, sleep(3000).then(() => Promise.reject(new Error('the stream kept an idle session alive')))]);
      expectProblem(await refused(base, { cookie }), 401, 'unauthorized');
    });

    it('ends a stream whose API key is revoked, and whose user is suspended', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const { id, key } = await apiKey(p, dev, { name: 'dashboard', scopes: ['apps:read'] });
      const byKey = await open(base, { authorization: `Bearer ${key}` });
      const revoke = await p.app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: dev.auth });
      expect(revoke.statusCode, revoke.body).toBe(204);
      await Promise.race([byKey.ended, sleep(3000).then(() => Promise.reject(new Error('the stream outlived its API key')))]);

      const admin = await signInAdmin(p, clock);
      const byToken = await open(base, dev.auth);
      const suspend = await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${dev.id}`, headers: admin.auth, payload: { status: 'suspended' } });
      expect(suspend.statusCode, suspend.body).toBe(200);
      await Promise.race([byToken.ended, sleep(3000).then(() => Promise.reject(new Error('the stream outlived the suspension')))]);
      expect(p.core.liveStream.stats().streams).toBe(0);
    });

    it('holds an API key restricted to some apps to their events, and shows it no review queue', async () => {
      const p = portal();
      const base = await listen(p);
      const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Rita Reviewer']);
      const reviewer = reviewers[0] as TestUser;
      const second = await createApp(p, dev, 'com.example.second');
      const restricted = await apiKey(p, dev, { name: 'second only', scopes: ['apps:read'], app_ids: [second.id] });
      const s = await open(base, { authorization: `Bearer ${restricted.key}` });
      // The reviewer's own key: a key is never a reviewer's session, so no queue on it.
      const reviewerApp = await createApp(p, reviewer, 'com.example.reviewers');
      const reviewerKey = await apiKey(p, reviewer, { name: 'reviewer key', scopes: ['apps:read'] });
      const r = await open(base, { authorization: `Bearer ${reviewerKey.key}` });

      await rename(p, dev, app.id, 'Not for this key');
      const version = await upload(p, dev, app, key, 1);
      await approve(p, reviewer, version.id);
      await rename(p, dev, second.id, 'For this key');
      await rename(p, reviewer, reviewerApp.id, 'Reviewer app');

      await s.waitForEvents(1);
      expect(s.events.map((e) => [e.type, e.data.app_id])).toEqual([['listing.changed', second.id]]);
      await r.waitForEvents(1);
      expect(r.events.map((e) => [e.type, e.data.app_id])).toEqual([['listing.changed', reviewerApp.id]]);
      await quiet(s, 1, 200);
      s.close();
      r.close();
    });

    it("brings a person their notifications, never another's, and app.deleted to the former owner, also when resumed", async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const other = await registerUser(p);
      const app = await createApp(p, dev, 'com.example.gone');
      const s = await open(base, dev.auth);
      const o = await open(base, other.auth);

      // What the notifications fan-out appends for each in-app notification.
      const notify = (userId: string, title: string) =>
        appendEvent(p.database.db, { type: 'notification.created', appId: app.id, actorId: null, payload: { notification_id: `n-${title}`, user_id: userId, kind: 'version.approved', title, link: '/apps' }, at: clock.now() });
      await notify(dev.id, 'for dev');
      await notify(other.id, 'for other');
      p.events.notify();
      await rename(p, dev, app.id, 'Last name');
      const del = await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: dev.auth });
      expect(del.statusCode, del.body).toBe(204);

      const got = await s.waitForEvents(3);
      expect(got.map((e) => e.type)).toEqual(['notification.created', 'listing.changed', 'app.deleted']);
      expect(got[0]?.data.data).toMatchObject({ user_id: dev.id, title: 'for dev' });
      expect(got[2]?.data).toMatchObject({ app_id: app.id, data: { package_id: 'com.example.gone' } });
      await o.waitForEvents(1);
      expect(o.events.map((e) => e.data.data['title'])).toEqual(['for other']);
      s.close();
      o.close();

      // An app made, changed and deleted while no stream was open (so no stream ever looked it up):
      // resumed after it is gone, its whole history is still its former owner's, and no one else's.
      await s.ended;
      await o.ended;
      const before = String(got[2]?.id);
      const brief = await createApp(p, dev, 'com.example.brief');
      await rename(p, dev, brief.id, 'Short-lived');
      expect((await p.app.inject({ method: 'DELETE', url: `/v1/apps/${brief.id}`, headers: dev.auth })).statusCode).toBe(204);
      const resumed = await open(base, { ...dev.auth, 'last-event-id': before });
      const history = await resumed.waitForEvents(3);
      expect(history.map((e) => [e.type, e.data.app_id])).toEqual([
        ['app.created', brief.id],
        ['listing.changed', brief.id],
        ['app.deleted', brief.id],
      ]);
      const stranger = await open(base, { ...other.auth, 'last-event-id': before });
      await quiet(stranger, 0, 300);
      resumed.close();
      stranger.close();
    });
  },
  {
    env: () => ({ EVENTS_HEARTBEAT_SECONDS: '1' }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describeOnSqlite(
  'live events: limits',
  (portal) => {
    it('keeps at most EVENTS_STREAMS_PER_USER streams a person: a new one closes their oldest', async () => {
      const p = portal();
      const base = await listen(p);
      const dev = await registerUser(p);
      const other = await registerUser(p);
      const app = await createApp(p, dev, 'com.example.limits');
      const [a, b] = [await open(base, dev.auth), await open(base, dev.auth)];
      const theirs = await open(base, other.auth);
      const c = await open(base, dev.auth);
      await Promise.race([a.ended, sleep(2000).then(() => Promise.reject(new Error('the oldest stream stayed open')))]);
      expect(a.comments).toContain('closed: replaced');
      expect(p.core.liveStream.stats()).toEqual({ streams: 3, users: 2 });

      await rename(p, dev, app.id, 'Still live');
      for (const s of [b, c]) await s.waitForEvents(1);
      expect(a.events).toHaveLength(0);
      // Another person's streams do not count against this one's.
      expect(theirs.res.destroyed).toBe(false);
      for (const s of [b, c, theirs]) s.close();
    });

    it('answers 503 live_streams_full with Retry-After beyond EVENTS_STREAMS_MAX on the instance', async () => {
      const p = portal();
      const base = await listen(p);
      const [x, y, z] = [await registerUser(p), await registerUser(p), await registerUser(p)];
      const streams = [await open(base, x.auth), await open(base, y.auth), await open(base, x.auth)];
      const full = await refused(base, z.auth);
      expectProblem(full, 503, 'live_streams_full');
      expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
      streams[2]?.close();
      await streams[2]?.ended;
      // The server counts the stream gone once it sees the connection close.
      for (let i = 0; i < 50 && p.core.liveStream.stats().streams > 2; i += 1) await sleep(20);
      const now = await open(base, z.auth);
      for (const s of [...streams, now]) s.close();
    });
  },
  { env: () => ({ EVENTS_STREAMS_PER_USER: '2', EVENTS_STREAMS_MAX: '3' }) },
);

describe('live events: closing', () => {
  it('closes open streams when the portal closes, without waiting for their clients', async () => {
    const { portal: p, stop } = await startPortal('sqlite', { EVENTS_HEARTBEAT_SECONDS: '60' });
    let stopped = false;
    try {
      const base = await listen(p);
      const dev = await registerUser(p);
      const streams = [await open(base, dev.auth), await open(base, dev.auth)];
      const started = Date.now();
      await stop();
      stopped = true;
      expect(Date.now() - started).toBeLessThan(3000);
      await Promise.all(streams.map((s) => s.ended));
      expect(streams[0]?.comments).toContain('closed: shutdown');
    } finally {
      if (!stopped) await stop();
    }
  });

  it('drops a client that stops reading once its socket buffer does not drain in time', async () => {
    const { portal: p, stop } = await startPortal('sqlite');
    const server = http.createServer();
    try {
      await p.events.start();
      const dev = await registerUser(p);
      const app = await createApp(p, dev, 'com.example.slow');
      const { core } = p;
      // A stream writer of the portal's, with small limits, on a plain HTTP server.
      const live = new LiveStream({ db: core.db, events: core.events, apps: core.apps, roles: core.admin, heartbeatMs: 60_000, streamsPerUser: 10, streamsMax: 10, log: core.log, maxBufferedBytes: 64 * 1024, drainTimeoutMs: 300 });
      const actor = { userId: dev.id, role: 'developer' as const, scopes: null, amr: [] };
      let closedAt = 0;
      server.on('request', (_req, res: http.ServerResponse) => {
        const connection = live.open(actor);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        void connection.prepare(undefined).then((afterId) => connection.run(res, afterId, () => Promise.resolve(actor))).then(() => (closedAt = Date.now()));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const res = await new Promise<http.IncomingMessage>((resolve) => http.get({ port, host: '127.0.0.1', path: '/', agent: false }, resolve));
      res.pause(); // and never read again
      await sleep(100);
      expect(live.stats().streams).toBe(1);

      // Far more than the socket buffers hold: 1 000 events of 15 KiB.
      const payload = { note: 'x'.repeat(15 * 1024) };
      await core.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 1000; i += 1) await appendEvent(trx, { type: 'listing.changed', appId: app.id, actorId: dev.id, payload, at: new Date() });
      });
      core.events.notify();
      const started = Date.now();
      for (let i = 0; i < 250 && live.stats().streams > 0; i += 1) await sleep(20);
      expect(live.stats().streams).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      await sleep(50);
      expect(closedAt).toBeGreaterThan(0);
      expect(p.logs()).toMatch(/"reason":"slow_client".*"msg":"live stream dropped"/);
      res.destroy();
      // The follower is gone with it: the log holds nothing for it.
      expect(core.events.stats().followers).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await stop();
    }
  });
});

// PostgreSQL only: instances learn of each other's commits through LISTEN/NOTIFY.
describe.skipIf(inject('postgresUrl') === null)('live events: two instances on one PostgreSQL database', () => {
  it('brings a stream on instance B a change committed through instance A', async () => {
    const a = await startPortal('postgres');
    const config = a.portal.config.database;
    if (config.dialect !== 'postgres') throw new Error('instance A is not on PostgreSQL');
    const b = await startPortal('postgres', { DATABASE_URL: config.url, DATA_DIR: a.portal.config.dataDir, PACKAGES_DIR: a.portal.config.packagesDir }).catch(async (err: unknown) => {
      await a.stop();
      throw err;
    });
    try {
      const A = a.portal;
      const B = b.portal;
      await A.events.start();
      const baseB = await listen(B);
      const dev = await registerUser(A);
      const other = await registerUser(A);
      const app = await createApp(A, dev, 'com.example.instances');
      const s = await open(baseB, dev.auth);
      const o = await open(baseB, other.auth);
      // B learns of A's commits by LISTEN (its poll is only the safety net).
      expect(B.events.stats().listening).toBe(true);
      await rename(A, dev, app.id, 'Renamed on A');
      const [got] = await s.waitForEvents(1, 3000);
      expect(got).toMatchObject({ type: 'listing.changed', data: { app_id: app.id } });
      await quiet(o, 0, 200);
      s.close();
      o.close();
    } finally {
      await b.stop();
      await a.stop();
    }
  });
});
