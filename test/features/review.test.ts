import { createHash, createPublicKey } from 'node:crypto';
import { expect, it } from 'vitest';
import { verifyStoreSignature } from '../../src/package/index.js';
import { TestClock } from '../support/accounts.js';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { registerSigningKey } from '../support/packages.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';
import { reviewWorld, upload, versionRow } from '../support/review.js';

let clock: TestClock;

/** A developer's app and two reviewers, on the suite's portal. */
async function setupOn(portal: () => TestPortal) {
  const p = portal();
  const { admin, dev, key, app, reviewers } = await reviewWorld(p, clock, ['Alice Reviewer', 'Bob Reviewer']);
  const [alice, bob] = reviewers as [TestUser, TestUser];
  return { p, admin, dev, key, app, alice, bob };
}

// Both dialects: a claim is taken, lapses and is decided on in transactions that race, and the queue is paged by queries.
describeEachDatabase(
  'review: the reviewer queue',
  (portal) => {
    const setup = () => setupOn(portal);

    it('takes a version from the queue through claim, detail, download and approval, signed with the store key', async () => {
      const { p, dev, key, app, alice, bob } = await setup();
      const v1 = await upload(p, dev, app, key, 1, ['network', 'camera']);

      const queue = await p.app.inject({ method: 'GET', url: '/v1/review/queue', headers: alice.auth });
      expect(queue.statusCode, queue.body).toBe(200);
      const [item] = queue.json<{ items: Record<string, unknown>[] }>().items;
      expect(item).toMatchObject({
        version: { id: v1.id, version_code: 1, permissions: ['network', 'camera'] },
        app: { id: app.id, package_id: 'com.example.notes', name: 'Notes' },
        developer: { id: dev.id, name: 'Dana Developer' },
        checks_summary: { errors: 0 },
        claim: null,
      });

      const claim = await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/claim`, headers: alice.auth });
      expect(claim.statusCode, claim.body).toBe(200);
      expect(claim.json()).toEqual({ version_id: v1.id, reviewer_id: alice.id, expires_at: new Date(clock.now().getTime() + 10 * 60_000).toISOString() });
      // Someone else's claim holds: Bob may neither take it nor decide on it.
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/claim`, headers: bob.auth }), 409, 'review_claimed');
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: bob.auth, payload: { decision: 'approve' } }), 409, 'review_claimed');
      expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/review/${v1.id}/claim`, headers: bob.auth }), 409, 'review_claimed');
      expect((await versionRow(p, v1.id)).status).toBe('pending_review');
      const mine = await p.app.inject({ method: 'GET', url: '/v1/review/queue?claimed=me', headers: bob.auth });
      expect(mine.json()).toEqual({ items: [], next_cursor: null });

      const detail = await p.app.inject({ method: 'GET', url: `/v1/review/${v1.id}`, headers: alice.auth });
      expect(detail.statusCode, detail.body).toBe(200);
      const body = detail.json<{ manifest: unknown; files: unknown; permission_changes: unknown; findings: object; claim: unknown; previous_decisions: unknown; download_url: string }>();
      expect(body.manifest).toMatchObject({ id: 'com.example.notes', version_code: 1 });
      expect(body.files).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'manifest.json', size: expect.any(Number) })]));
      expect(body.permission_changes).toEqual({
        baseline_version_code: null,
        added: [
          { permission: 'network', risk: 'medium', why: expect.any(String) },
          { permission: 'camera', risk: 'high', why: expect.any(String) },
        ],
        removed: [],
      });
      expect(Object.keys(body.findings)).toEqual(['1', '2', '3']);
      expect(body.claim).toMatchObject({ reviewer_id: alice.id, reviewer_name: 'Alice Reviewer' });
      expect(body.previous_decisions).toEqual([]);

      const download = await p.app.inject({ method: 'GET', url: body.download_url, headers: alice.auth });
      expect(download.statusCode).toBe(200);
      expect(download.rawPayload.equals(v1.file)).toBe(true);
      expect(download.headers['content-disposition']).toBe('attachment; filename="com.example.notes-1.mosis"');

      const approve = await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: alice.auth, payload: { decision: 'approve', notes: 'Looks good.' } });
      expect(approve.statusCode, approve.body).toBe(200);
      expect(approve.json()).toEqual({
        version_id: v1.id,
        status: 'approved',
        review: { decision: 'approve', notes: 'Looks good.', reviewer_name: 'Alice Reviewer', decided_at: clock.now().toISOString() },
      });
      const row = await versionRow(p, v1.id);
      expect(row).toMatchObject({ status: 'approved', review_decision: 'approve', reviewer_id: alice.id, claimed_by: null, claim_expires_at: null });

      // The store signature verifies with the published key, with node:crypto alone.
      const keys = (await p.app.inject({ method: 'GET', url: '/.well-known/mosis-store-keys.json' })).json<{ keys: { key_id: string; public_key: string }[] }>().keys;
      const storeKey = keys.find((k) => k.key_id === row.store_key_id);
      expect(storeKey).toBeDefined();
      const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(storeKey?.public_key ?? '', 'base64')]), format: 'der', type: 'spki' });
      const sha256 = createHash('sha256').update(v1.file).digest('hex');
      expect(verifyStoreSignature(publicKey, { packageId: 'com.example.notes', versionCode: 1, sha256 }, row.store_signature ?? '')).toBe(true);

      // Decided once: the queue is empty and a second decision is refused.
      expect((await p.app.inject({ method: 'GET', url: '/v1/review/queue', headers: bob.auth })).json()).toEqual({ items: [], next_cursor: null });
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: bob.auth, payload: { decision: 'reject', notes: 'No.' } }), 409, 'review_not_pending');

      const audit = await p.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'version.approved').execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor_id: alice.id, target_type: 'version', target_id: v1.id });
      expect(JSON.parse(audit[0]?.details ?? '{}')).toMatchObject({ notes: 'Looks good.', version_code: 1, store_key_id: row.store_key_id });
      const events = await p.database.db.selectFrom('events').select(['type', 'app_id', 'actor_id']).orderBy('id').execute();
      expect(events.map((e) => e.type)).toEqual(['app.created', 'version.submitted', 'version.checked', 'version.approved']);
      expect(events[3]).toEqual({ type: 'version.approved', app_id: app.id, actor_id: alice.id });
    });

    it('needs notes to reject, shows earlier decisions on the app, and lets a claim lapse or be given up', async () => {
      const { p, dev, key, app, alice, bob } = await setup();
      const v1 = await upload(p, dev, app, key, 1);

      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: alice.auth, payload: { decision: 'reject' } }), 422, 'review_notes_required');
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: alice.auth, payload: { decision: 'reject', notes: '   ' } }), 422, 'review_notes_required');
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: alice.auth, payload: { decision: 'maybe', notes: 'x' } }), 400, 'validation_failed');
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'pending_review', review_decision: null });
      const reject = await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: alice.auth, payload: { decision: 'reject', notes: 'The camera is used without telling the user.' } });
      expect(reject.statusCode, reject.body).toBe(200);
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'rejected', review_notes: 'The camera is used without telling the user.', store_signature: null });

      const v2 = await upload(p, dev, app, key, 2);
      const detail = (await p.app.inject({ method: 'GET', url: `/v1/review/${v2.id}`, headers: bob.auth })).json<Record<string, unknown>>();
      expect(detail['previous_decisions']).toEqual([
        { version_id: v1.id, version: '1.0.1', version_code: 1, decision: 'reject', notes: 'The camera is used without telling the user.', reviewer_name: 'Alice Reviewer', decided_at: expect.any(String) },
      ]);

      // Bob claims, then gives it up; Alice claims, and her claim lapses after REVIEW_CLAIM_MINUTES.
      expect((await p.app.inject({ method: 'POST', url: `/v1/review/${v2.id}/claim`, headers: bob.auth })).statusCode).toBe(200);
      expect((await p.app.inject({ method: 'DELETE', url: `/v1/review/${v2.id}/claim`, headers: bob.auth })).statusCode).toBe(204);
      expect((await p.app.inject({ method: 'POST', url: `/v1/review/${v2.id}/claim`, headers: alice.auth })).statusCode).toBe(200);
      const claimedByAlice = await p.app.inject({ method: 'GET', url: '/v1/review/queue?claimed=me', headers: alice.auth });
      expect(claimedByAlice.json<{ items: { version: { id: string } }[] }>().items.map((i) => i.version.id)).toEqual([v2.id]);
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${v2.id}/claim`, headers: bob.auth }), 409, 'review_claimed');
      clock.advance(10 * 60_000);
      expect((await p.app.inject({ method: 'GET', url: '/v1/review/queue?claimed=me', headers: alice.auth })).json()).toEqual({ items: [], next_cursor: null });
      const taken = await p.app.inject({ method: 'POST', url: `/v1/review/${v2.id}/claim`, headers: bob.auth });
      expect(taken.statusCode, taken.body).toBe(200);
      expect((await versionRow(p, v2.id)).claimed_by).toBe(bob.id);
    });

    it('lets exactly one of two reviewers claiming at once win, and pages the queue oldest first', async () => {
      const { p, dev, key, app, alice, bob } = await setup();
      const ids: string[] = [];
      for (let code = 1; code <= 3; code += 1) {
        ids.push((await upload(p, dev, app, key, code)).id);
        clock.advance(1_000);
      }
      const [first] = ids as [string];
      const claims = await Promise.all([alice, bob].map((r) => p.app.inject({ method: 'POST', url: `/v1/review/${first}/claim`, headers: r.auth })));
      expect(claims.map((c) => c.statusCode).sort()).toEqual([200, 409]);
      const winner = claims.find((c) => c.statusCode === 200)?.json<{ reviewer_id: string }>().reviewer_id;
      expect((await versionRow(p, first)).claimed_by).toBe(winner);

      const page1 = (await p.app.inject({ method: 'GET', url: '/v1/review/queue?limit=2', headers: alice.auth })).json<{ items: { version: { id: string } }[]; next_cursor: string }>();
      expect(page1.items.map((i) => i.version.id)).toEqual(ids.slice(0, 2));
      const page2 = (await p.app.inject({ method: 'GET', url: `/v1/review/queue?limit=2&cursor=${page1.next_cursor}`, headers: alice.auth })).json<{ items: { version: { id: string } }[]; next_cursor: null }>();
      expect(page2).toEqual({ items: [expect.objectContaining({ version: expect.objectContaining({ id: ids[2] }) })], next_cursor: null });
      const byApp = (await p.app.inject({ method: 'GET', url: `/v1/review/queue?app_id=${app.id}&limit=100`, headers: alice.auth })).json<{ items: unknown[] }>();
      expect(byApp.items).toHaveLength(3);
      expect((await p.app.inject({ method: 'GET', url: '/v1/review/queue?app_id=nope', headers: alice.auth })).json()).toEqual({ items: [], next_cursor: null });
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/review/queue?cursor=garbage', headers: alice.auth }), 400, 'invalid_cursor');
    });
  },
  {
    // Shorter than the default 30, so a lapsed claim is reached while access tokens (15 min) still work.
    env: () => ({ REVIEW_CLAIM_MINUTES: '10' }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

// SQLite alone: who may review (role, second factor, not an API key, not the app's owner) is decided
// before any query that differs by dialect.
describeOnSqlite(
  'review: the reviewer queue',
  (portal) => {
    const setup = () => setupOn(portal);

    it('keeps developers, API keys, reviewers without 2FA and an app’s own owner out of decisions', async () => {
      const { p, admin, dev, key, app, alice } = await setup();
      const v1 = await upload(p, dev, app, key, 1);
      const routes = [
        { method: 'GET' as const, url: '/v1/review/queue' },
        { method: 'GET' as const, url: `/v1/review/${v1.id}` },
        { method: 'GET' as const, url: `/v1/review/${v1.id}/package` },
        { method: 'POST' as const, url: `/v1/review/${v1.id}/claim` },
        { method: 'POST' as const, url: `/v1/review/${v1.id}/decision`, payload: { decision: 'approve' } },
      ];
      const apiKey = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: alice.auth, payload: { name: 'ci', scopes: ['apps:read', 'apps:write', 'versions:upload', 'versions:publish', 'keys:manage'] } });
      expect(apiKey.statusCode, apiKey.body).toBe(201);
      // A reviewer who has not turned TOTP on yet.
      const noTotp = await registerUser(p, 'Newcomer');
      expect((await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${noTotp.id}`, headers: admin.auth, payload: { role: 'reviewer' } })).statusCode).toBe(200);
      for (const route of routes) {
        expectProblem(await p.app.inject({ ...route }), 401, 'unauthorized');
        expectProblem(await p.app.inject({ ...route, headers: dev.auth }), 403, 'forbidden');
        expectProblem(await p.app.inject({ ...route, headers: { 'x-api-key': apiKey.json<{ key: string }>().key } }), 403, 'api_key_not_allowed');
        expectProblem(await p.app.inject({ ...route, headers: noTotp.auth }), 403, 'two_factor_required');
      }
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'pending_review', claimed_by: null });

      // A reviewer who is also a developer never decides on their own app.
      const ownKey = await registerSigningKey(p, alice);
      const own = await createApp(p, alice, 'com.example.alices');
      const ownVersion = await upload(p, alice, own, ownKey, 1);
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${ownVersion.id}/claim`, headers: alice.auth }), 403, 'review_own_app');
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/review/${ownVersion.id}/decision`, headers: alice.auth, payload: { decision: 'approve' } }), 403, 'review_own_app');
      expect(await versionRow(p, ownVersion.id)).toMatchObject({ status: 'pending_review', review_decision: null });
      // Unknown ids answer 404, malformed ones 400.
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/review/0193a000-0000-7000-8000-000000000000', headers: alice.auth }), 404, 'review_item_not_found');
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/review/${'x'.repeat(65)}`, headers: alice.auth }), 400, 'validation_failed');
    });
  },
  {
    // Shorter than the default 30, so a lapsed claim is reached while access tokens (15 min) still work.
    env: () => ({ REVIEW_CLAIM_MINUTES: '10' }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
