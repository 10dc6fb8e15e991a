import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPortal } from '../../src/app.js';
import { appendEvent } from '../../src/events/index.js';
import { REVIEW_DIGEST_JOB } from '../../src/features/notifications/index.js';
import { runJobs, startMailServer, TestClock, tokenIn, type ReceivedMail } from '../support/accounts.js';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { makePackage } from '../support/packages.js';
import { describeEachDatabase, describeOnSqlite, sharedPackageChecker, type TestPortal } from '../support/portal.js';
import type { SessionHealth } from '../../src/features/versions/index.js';
import { approve, reviewWorld, upload } from '../support/review.js';

/** Notifications (issue 14): what each event tells whom, in the portal and by mail to a real SMTP server. */

const BASE_URL = 'https://portal.example.com';
let mail: Awaited<ReturnType<typeof startMailServer>>;
beforeAll(async () => {
  mail = await startMailServer();
});
afterEach(() => mail.refuse(0));
afterAll(async () => {
  await mail.close();
});

/** The decoded text of a mail (quoted-printable soft breaks and escapes undone). */
function body(message: ReceivedMail): string {
  return message.raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Every mail to `to` whose subject contains `subject`, after the fan-out and the jobs ran. */
async function mailsTo(p: TestPortal, to: string, subject: string): Promise<ReceivedMail[]> {
  await p.core.notificationFanout.settle();
  await runJobs(p);
  return mail.messages.filter((m) => m.to.includes(to) && body(m).includes(subject));
}

/** Confirms a user's address with the link of their verification mail: only verified addresses get notification mail. */
async function verify(p: TestPortal, user: TestUser): Promise<void> {
  await runJobs(p);
  const token = tokenIn(await mail.waitFor(user.email), 'mev_');
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } });
  expect(res.statusCode, res.body).toBe(200);
}

async function notificationsOf(p: TestPortal, user: TestUser, query = '') {
  const res = await p.app.inject({ method: 'GET', url: `/v1/notifications${query}`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: { id: string; kind: string; title: string; body: string; link: string; read_at: string | null }[]; next_cursor: string | null; unread_count: number }>();
}

let clock: TestClock;
/** Sessions per version for the crash guard (telemetry's rollups stand in for it elsewhere). */
const health = new Map<string, SessionHealth>();
const env = () => ({ SMTP_URL: mail.url, BASE_URL, REVIEW_DIGEST_MINUTES: '10' });
const deps = () => {
  clock = new TestClock();
  return { clock, versionHealth: { sessionsOf: (id: string) => Promise.resolve(health.get(id) ?? null) } };
};

describeOnSqlite(
  'notifications',
  (portal) => {
    it('tells the owner of every step of a version in the portal and by mail (text and HTML, a link, an unsubscribe link), and reviewers by one digest', async () => {
      const p = portal();
      const { admin, dev, key, app, reviewers } = await reviewWorld(p, clock, ['Rita']);
      const reviewer = reviewers[0]!;
      await verify(p, dev);
      await verify(p, reviewer);

      // A package of another app fails its checks: the owner learns it with the blocking findings.
      const wrong = await readFile(await makePackage({ id: 'com.example.other', key }));
      const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: wrong });
      expect(res.statusCode, res.body).toBe(202);
      const failedId = res.json<{ id: string }>().id;
      await runJobs(p);
      const [failedMail] = await mailsTo(p, dev.email, 'failed its checks');
      expect(failedMail, 'a mail about the failed checks').toBeDefined();
      const text = body(failedMail!);
      expect(text).toContain('manifest_id_mismatch');
      expect(text).toContain(`${BASE_URL}/apps/${app.id}/versions/${failedId}`);
      expect(failedMail!.raw).toMatch(/Content-Type: text\/plain/);
      expect(failedMail!.raw).toMatch(/Content-Type: text\/html/);
      expect(failedMail!.raw).toMatch(/List-Unsubscribe:\s*<https:\/\/portal\.example\.com\/v1\/notifications\/unsubscribe\?token=/);
      expect(failedMail!.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      const listed = await notificationsOf(p, dev);
      expect(listed.items).toEqual([expect.objectContaining({ kind: 'version_failed', link: `/apps/${app.id}/versions/${failedId}`, read_at: null })]);
      expect(listed.unread_count).toBe(1);

      // A version that passes waits for review: the owner is not mailed, each reviewer gets one
      // digest at the end of the 10-minute interval, however many versions arrive in it.
      const first = await upload(p, dev, app, key, 1);
      const other = await createApp(p, dev, 'com.example.todo');
      await upload(p, dev, other, key, 1);
      await p.core.notificationFanout.settle();
      const digests = await p.database.db.selectFrom('jobs').select(['key', 'run_at']).where('kind', '=', REVIEW_DIGEST_JOB).execute();
      // One per reviewer and admin with a confirmed address (Rita and the admin), not one per version.
      expect(digests.map((d) => d.key?.split(':')[0]).sort()).toEqual([reviewer.id, admin.id].sort());
      expect(await mailsTo(p, reviewer.email, 'waiting for review')).toHaveLength(0);
      clock.advance(10 * 60_000);
      const [digest] = await mailsTo(p, reviewer.email, 'waiting for review');
      expect(body(digest!)).toContain('2 versions waiting for review');
      expect(body(digest!)).toContain(`${BASE_URL}/review/${first.id}`);
      expect(await mailsTo(p, dev.email, 'waiting for review')).toHaveLength(0);

      // Rejected, with the reviewer's notes (escaped in the HTML part).
      const reject = await p.app.inject({ method: 'POST', url: `/v1/review/${first.id}/decision`, headers: reviewer.auth, payload: { decision: 'reject', notes: 'Crashes on start <script>alert(1)</script>' } });
      expect(reject.statusCode, reject.body).toBe(200);
      const [rejected] = await mailsTo(p, dev.email, 'was rejected');
      expect(body(rejected!)).toContain('Crashes on start <script>alert(1)</script>');
      expect(body(rejected!)).toContain('Crashes on start &lt;script&gt;alert(1)&lt;/script&gt;');

      // Approved, published, yanked.
      const second = await upload(p, dev, app, key, 2);
      expect((await p.app.inject({ method: 'POST', url: `/v1/review/${second.id}/decision`, headers: reviewer.auth, payload: { decision: 'approve' } })).statusCode).toBe(200);
      expect(await mailsTo(p, dev.email, 'was approved')).toHaveLength(1);
      const publish = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${second.id}/publish`, headers: dev.auth, payload: { channel: 'stable', rollout_percent: 100 } });
      expect(publish.statusCode, publish.body).toBe(200);
      expect(await mailsTo(p, dev.email, 'is published')).toHaveLength(1);
      const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${second.id}/yank`, headers: dev.auth, payload: { reason: 'A data loss bug' } });
      expect(yank.statusCode, yank.body).toBe(200);
      const [yanked] = await mailsTo(p, dev.email, 'was yanked');
      expect(body(yanked!)).toContain('A data loss bug');

      expect((await notificationsOf(p, dev)).items.map((n) => n.kind)).toEqual(['version_yanked', 'version_published', 'version_approved', 'version_rejected', 'version_failed']);
      // The reviewer is told nothing of the developer's own steps, and nobody twice.
      expect((await notificationsOf(p, reviewer)).items).toEqual([]);
      await p.core.notificationFanout.settle();
      expect((await notificationsOf(p, dev)).items).toHaveLength(5);
    });

    it('lists newest first with cursors and an unread filter, counts unread, and marks read only the caller\'s own', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Owner');
      const stranger = await registerUser(p, 'Stranger');
      const app = await createApp(p, dev, 'com.example.read');
      for (let i = 0; i < 3; i += 1) {
        await appendEvent(p.core.db, { type: 'version.yanked', appId: app.id, actorId: dev.id, payload: { version_id: `v${i}`, version_code: i, reason: `reason ${i}` }, at: clock.now() });
        clock.advance(1000);
      }
      await p.core.notificationFanout.settle();
      const page1 = await notificationsOf(p, dev, '?limit=2');
      expect(page1.items.map((n) => n.body)).toEqual([expect.stringContaining('reason 2'), expect.stringContaining('reason 1')]);
      const page2 = await notificationsOf(p, dev, `?limit=2&cursor=${page1.next_cursor}`);
      expect(page2.items.map((n) => n.body)).toEqual([expect.stringContaining('reason 0')]);
      expect(page2.next_cursor).toBeNull();

      // Another user's ids match nothing of theirs; nothing of the owner's changes.
      const theirs = await p.app.inject({ method: 'POST', url: '/v1/notifications/read', headers: stranger.auth, payload: { ids: [page1.items[0]!.id] } });
      expect(theirs.json()).toEqual({ updated: 0, unread_count: 0 });
      expect((await notificationsOf(p, stranger)).items).toEqual([]);

      const one = await p.app.inject({ method: 'POST', url: '/v1/notifications/read', headers: dev.auth, payload: { ids: [page1.items[0]!.id] } });
      expect(one.json()).toEqual({ updated: 1, unread_count: 2 });
      expect((await notificationsOf(p, dev, '?unread=true')).items.map((n) => n.id)).not.toContain(page1.items[0]!.id);
      expect((await p.app.inject({ method: 'GET', url: '/v1/notifications/unread-count', headers: dev.auth })).json()).toEqual({ unread_count: 2 });
      const all = await p.app.inject({ method: 'POST', url: '/v1/notifications/read', headers: dev.auth, payload: { all: true } });
      expect(all.json()).toEqual({ updated: 2, unread_count: 0 });

      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/notifications/read', headers: dev.auth, payload: {} }), 400, 'validation_failed');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/notifications/read', headers: dev.auth, payload: { ids: Array.from({ length: 101 }, (_, i) => `n${i}`) } }), 400, 'validation_failed');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/notifications?cursor=garbage', headers: dev.auth }), 400, 'invalid_cursor');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/notifications' }), 401, 'unauthorized');
      // Notifications are personal: an API key does not reach them.
      const key = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'ci', scopes: ['apps:read'] } });
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/notifications', headers: { authorization: `Bearer ${key.json<{ key: string }>().key}` } }), 403, 'api_key_not_allowed');

      // Kept 90 days.
      clock.advance(91 * 86_400_000);
      expect(await p.core.notifications.prune()).toMatchObject({ notifications: 3 });
      expect(await p.database.db.selectFrom('notifications').select('id').execute()).toEqual([]);
    });

    it('preferences and unsubscribe links turn one kind of mail off; the notification is still made; bad input and bad tokens are refused', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Prefs');
      await verify(p, dev);
      const app = await createApp(p, dev, 'com.example.prefs');
      const yank = async (reason: string) => {
        await appendEvent(p.core.db, { type: 'version.yanked', appId: app.id, actorId: dev.id, payload: { version_id: 'v1', version_code: 1, reason }, at: clock.now() });
        return mailsTo(p, dev.email, reason);
      };

      const prefs = await p.app.inject({ method: 'GET', url: '/v1/notifications/preferences', headers: dev.auth });
      expect(prefs.json().email).toMatchObject({ version_yanked: true, version_failed: true, review_queue: true });
      const [first] = await yank('first reason');
      const unsubscribe = /List-Unsubscribe:\s*<([^>]+)>/.exec(first!.raw)?.[1];
      expect(unsubscribe).toBeDefined();
      const url = new URL(unsubscribe!);

      // The link shows a confirmation; opening it changes nothing (mail scanners open links).
      const page = await p.app.inject({ method: 'GET', url: url.pathname + url.search });
      expect(page.statusCode, page.body).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('yanked');
      expect((await yank('second reason')).length).toBe(1);

      // One-click (RFC 8058): a form post of List-Unsubscribe=One-Click to the link.
      const click = await p.app.inject({ method: 'POST', url: url.pathname + url.search, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
      expect(click.statusCode, click.body).toBe(200);
      expect(click.json()).toEqual({ kind: 'version_yanked', email: false });
      expect(await yank('third reason')).toHaveLength(0);
      const listed = await notificationsOf(p, dev);
      expect(listed.items.map((n) => n.body)).toEqual([expect.stringContaining('third reason'), expect.stringContaining('second reason'), expect.stringContaining('first reason')]);
      expect((await p.app.inject({ method: 'GET', url: '/v1/notifications/preferences', headers: dev.auth })).json().email.version_yanked).toBe(false);

      // On again through the API; other kinds left as they were.
      const on = await p.app.inject({ method: 'PUT', url: '/v1/notifications/preferences', headers: dev.auth, payload: { email: { version_yanked: true, review_queue: false } } });
      expect(on.statusCode, on.body).toBe(200);
      expect(on.json().email).toMatchObject({ version_yanked: true, review_queue: false, version_failed: true });
      expect(await yank('fourth reason')).toHaveLength(1);

      expectProblem(await p.app.inject({ method: 'PUT', url: '/v1/notifications/preferences', headers: dev.auth, payload: { email: { not_a_kind: false } } }), 400, 'validation_failed');
      expectProblem(await p.app.inject({ method: 'PUT', url: '/v1/notifications/preferences', headers: dev.auth, payload: { email: { version_yanked: 'no' } } }), 400, 'validation_failed');
      const tampered = url.searchParams.get('token')!.slice(0, -4) + 'AAAA';
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/notifications/unsubscribe?token=${encodeURIComponent(tampered)}` }), 400, 'unsubscribe_invalid');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/notifications/unsubscribe?token=sealed%3Anope' }), 400, 'unsubscribe_invalid');
      expect((await p.app.inject({ method: 'GET', url: '/v1/notifications/preferences', headers: dev.auth })).json().email).toMatchObject({ version_yanked: true, review_queue: false });
    });

    it('a digest is not sent when the queue emptied before its time, and unverified addresses get no notification mail', async () => {
      const p = portal();
      const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Rex']);
      const reviewer = reviewers[0]!;
      await verify(p, reviewer);
      const version = await upload(p, dev, app, key, 1);
      expect((await p.app.inject({ method: 'POST', url: `/v1/review/${version.id}/decision`, headers: reviewer.auth, payload: { decision: 'approve' } })).statusCode).toBe(200);
      clock.advance(10 * 60_000);
      expect(await mailsTo(p, reviewer.email, 'waiting for review')).toHaveLength(0);
      // The developer never confirmed the address: told in the portal only.
      expect(await mailsTo(p, dev.email, 'was approved')).toHaveLength(0);
      expect((await notificationsOf(p, dev)).items.map((n) => n.kind)).toEqual(['version_approved']);
    });

    it('tells the owner when the crash guard halts a staged rollout', async () => {
      const p = portal();
      const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Hal']);
      await verify(p, dev);
      const version = await upload(p, dev, app, key, 1);
      await approve(p, reviewers[0]!, version.id);
      const published = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${version.id}/publish`, headers: dev.auth, payload: { channel: 'stable', rollout_percent: 10 } });
      expect(published.statusCode, published.body).toBe(200);
      health.set(version.id, { sessions: 400, crashFreeSessions: 300 });
      expect((await p.core.crashGuard.sweep()).halted).toEqual([version.id]);
      const [halted] = await mailsTo(p, dev.email, 'was halted');
      expect(halted!.to).toEqual([dev.email]);
      expect(body(halted!)).toContain('75.0 % crash-free sessions');
      expect(body(halted!)).toContain(`${BASE_URL}/apps/${app.id}/versions/${version.id}`);
      // A developer's own halt is theirs to know: no notification.
      const own = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}/versions/${version.id}/rollout`, headers: dev.auth, payload: { halted: false } });
      expect(own.statusCode).toBe(200);
      await p.core.notificationFanout.settle();
      expect((await notificationsOf(p, dev)).items.filter((n) => n.kind === 'version_halted')).toHaveLength(1);
    });

    it('tells the owner when the portal disables a failing webhook', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Hooks');
      await verify(p, dev);
      const app = await createApp(p, dev, 'com.example.hooks');
      await appendEvent(p.core.db, { type: 'webhook.disabled', appId: app.id, actorId: null, payload: { webhook_id: 'wh1', host: 'hooks.example.com' }, at: clock.now() });
      const [message] = await mailsTo(p, dev.email, 'webhook of Notes was disabled');
      expect(body(message!)).toContain(`${BASE_URL}/apps/${app.id}/webhooks/wh1`);
      expect(body(message!)).toContain('Every delivery to hooks.example.com failed');
      expect((await notificationsOf(p, dev)).items.map((n) => n.kind)).toEqual(['webhook_disabled']);
    });
  },
  { env, deps },
);

// The consumer's lock and position are what differ by dialect.
describeEachDatabase(
  'notifications fan-out',
  (portal) => {
    it('handles each event once when two instances consume at the same time, and resumes where it stopped', async () => {
      const p = portal();
      const dev = await registerUser(p, 'Twice');
      const app = await createApp(p, dev, 'com.example.twice');
      // A second instance on the same database.
      const second = await createPortal(p.config, { packageChecker: sharedPackageChecker(), clock });
      try {
        for (let i = 0; i < 30; i += 1) {
          await appendEvent(p.core.db, { type: 'version.yanked', appId: app.id, actorId: dev.id, payload: { version_id: `v${i}`, version_code: i, reason: 'r' }, at: clock.now() });
        }
        // Side by side on PostgreSQL (the cursor row's lock decides); one after the other on SQLite,
        // whose two connections in one process cannot wait for each other's write lock.
        const both = () => [p.core.notificationFanout.settle(), second.core.notificationFanout.settle()];
        const [a = 0, b = 0] = p.dialect === 'postgres' ? await Promise.all(both()) : [await p.core.notificationFanout.settle(), await second.core.notificationFanout.settle()];
        // Each event was handled by exactly one of them (the other saw its position move on).
        const rows = await p.database.db.selectFrom('notifications').select('event_id').where('user_id', '=', dev.id).execute();
        expect(rows).toHaveLength(30);
        expect(new Set(rows.map((r) => r.event_id)).size).toBe(30);
        // notification.created events of the first run are skipped by whoever reads them.
        expect(a + b).toBeGreaterThanOrEqual(30);
        const position = await p.core.notificationFanout.position();
        expect(position).toBeGreaterThan(0);
        expect(await second.core.notificationFanout.settle()).toBe(0);
        expect(await p.database.db.selectFrom('notifications').select('id').execute()).toHaveLength(30);
      } finally {
        await second.close();
      }
    });
  },
  { env, deps },
);

describe('notification kinds', () => {
  it('every kind has a description for the preferences and unsubscribe pages', async () => {
    const { NOTIFICATION_KINDS } = await import('../../src/features/notifications/index.js');
    const { KIND_DESCRIPTIONS } = await import('../../src/features/notifications/notification-kinds.js');
    for (const kind of NOTIFICATION_KINDS) expect(KIND_DESCRIPTIONS[kind]).toMatch(/\w/);
  });
});
