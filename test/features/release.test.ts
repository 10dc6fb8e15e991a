import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem, registerUser, type TestUser } from '../support/api.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';
import { approve, reviewWorld, upload, versionRow } from '../support/review.js';

let clock: TestClock;

/** A developer's app with a reviewer, on the suite's portal. */
async function setupOn(portal: () => TestPortal) {
  const p = portal();
  const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Alice Reviewer']);
  const reviewer = reviewers[0] as TestUser;
  const base = `/v1/apps/${app.id}/versions`;
  const appStatus = async () => (await p.database.db.selectFrom('apps').select('status').where('id', '=', app.id).executeTakeFirstOrThrow()).status;
  const eventTypes = async () => (await p.database.db.selectFrom('events').select('type').orderBy('id').execute()).map((e) => e.type);
  return { p, dev, key, app, reviewer, base, appStatus, eventTypes };
}

// Both dialects: a publish, a supersede or a yank changes several rows in one transaction, and they race.
describeEachDatabase(
  'release: publish, rollout, yank',
  (portal) => {
    const setup = () => setupOn(portal);

    it('publishes only an approved version, at a rollout it can raise, lower, halt and resume, behind versions:publish', async () => {
      const { p, dev, key, app, reviewer, base, appStatus, eventTypes } = await setup();
      const v1 = await upload(p, dev, app, key, 1);
      const publish = { channel: 'stable', rollout_percent: 10 };

      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/publish`, headers: dev.auth, payload: publish }), 409, 'version_not_approved');
      await approve(p, reviewer, v1.id);
      const uploadOnly = (await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'ci', scopes: ['versions:upload', 'apps:read'] } })).json<{ key: string }>().key;
      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/publish`, headers: { 'x-api-key': uploadOnly }, payload: publish }), 403, 'insufficient_scope');
      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/publish`, headers: dev.auth, payload: { channel: 'nightly', rollout_percent: 10 } }), 400, 'validation_failed');
      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/publish`, headers: dev.auth, payload: { channel: 'stable', rollout_percent: 0 } }), 400, 'validation_failed');
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'approved', published_at: null });
      expect(await appStatus()).toBe('draft');

      const releaser = (await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'release', scopes: ['versions:publish'] } })).json<{ key: string }>().key;
      const headers = { 'x-api-key': releaser };
      const published = await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/publish`, headers, payload: publish });
      expect(published.statusCode, published.body).toBe(200);
      expect(published.json()).toMatchObject({ status: 'published', channel: 'stable', rollout_percent: 10, published_at: clock.now().toISOString(), rollout: { halted: false }, superseded_at: null, yank: null });
      expect(await appStatus()).toBe('published');
      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/publish`, headers, payload: publish }), 409, 'version_not_approved');

      const raise = await p.app.inject({ method: 'PATCH', url: `${base}/${v1.id}/rollout`, headers, payload: { rollout_percent: 50 } });
      expect(raise.json()).toMatchObject({ rollout_percent: 50, rollout: { halted: false } });
      const halt = await p.app.inject({ method: 'PATCH', url: `${base}/${v1.id}/rollout`, headers, payload: { halted: true, reason: 'Crashes on start on old devices.' } });
      expect(halt.json()).toMatchObject({ rollout_percent: 50, rollout: { halted: true, halt_reason: 'Crashes on start on old devices.' } });
      const resume = await p.app.inject({ method: 'PATCH', url: `${base}/${v1.id}/rollout`, headers, payload: { halted: false } });
      expect(resume.json()).toMatchObject({ rollout_percent: 50, rollout: { halted: false, halt_reason: null } });
      for (const bad of [{}, { rollout_percent: 20, halted: true }, { rollout_percent: 101 }, { rollout_percent: 20, reason: 'x' }]) {
        expectProblem(await p.app.inject({ method: 'PATCH', url: `${base}/${v1.id}/rollout`, headers, payload: bad }), 400, 'validation_failed');
      }
      expect(await versionRow(p, v1.id)).toMatchObject({ rollout_percent: 50, halted_at: null });
      expect(await eventTypes()).toEqual(['app.created', 'version.submitted', 'version.checked', 'version.approved', 'version.published', 'version.rollout_changed', 'version.rollout_changed', 'version.rollout_changed']);
    });

    it('supersedes the live version of a channel, refuses an older one over a newer, and yanks with a reason', async () => {
      const { p, dev, key, app, reviewer, base, appStatus, eventTypes } = await setup();
      const [v1, v2, v3] = [await upload(p, dev, app, key, 1), await upload(p, dev, app, key, 2), await upload(p, dev, app, key, 3)];
      for (const v of [v1, v2, v3]) await approve(p, reviewer, v.id);
      const publish = (id: string, channel = 'stable') => p.app.inject({ method: 'POST', url: `${base}/${id}/publish`, headers: dev.auth, payload: { channel, rollout_percent: 100 } });

      expect((await publish(v1.id)).statusCode).toBe(200);
      expect((await publish(v3.id)).statusCode).toBe(200);
      expect((await versionRow(p, v1.id)).superseded_at).toBe(clock.now().toISOString());
      expectProblem(await publish(v2.id), 409, 'version_older_than_live');
      expect((await versionRow(p, v2.id)).status).toBe('approved');
      // Another channel has its own live version.
      expect((await publish(v2.id, 'beta')).statusCode).toBe(200);
      expect((await versionRow(p, v3.id)).superseded_at).toBeNull();
      expectProblem(await p.app.inject({ method: 'PATCH', url: `${base}/${v1.id}/rollout`, headers: dev.auth, payload: { rollout_percent: 5 } }), 409, 'version_not_live');

      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v3.id}/yank`, headers: dev.auth, payload: {} }), 400, 'validation_failed');
      const yank = await p.app.inject({ method: 'POST', url: `${base}/${v3.id}/yank`, headers: dev.auth, payload: { reason: 'Loses notes on save.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      expect(yank.json()).toMatchObject({ status: 'yanked', yank: { reason: 'Loses notes on save.', yanked_at: clock.now().toISOString() } });
      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v3.id}/yank`, headers: dev.auth, payload: { reason: 'again' } }), 409, 'version_not_published');
      expectProblem(await p.app.inject({ method: 'PATCH', url: `${base}/${v3.id}/rollout`, headers: dev.auth, payload: { rollout_percent: 5 } }), 409, 'version_not_live');
      const audit = await p.database.db.selectFrom('audit_log').select(['actor_id', 'target_id', 'details']).where('action', '=', 'version.yanked').execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor_id: dev.id, target_id: v3.id });
      expect(JSON.parse(audit[0]?.details ?? '{}')).toMatchObject({ reason: 'Loses notes on save.', version_code: 3, restored: v1.id });
      // v3 was stable's live version: v1, which it superseded, is live again (devices get it once more).
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'published', superseded_at: null });
      expect(await appStatus()).toBe('published');
      // Beta's only version goes with nothing to restore; stable keeps the app published until v1 goes too.
      expect((await p.app.inject({ method: 'POST', url: `${base}/${v2.id}/yank`, headers: dev.auth, payload: { reason: 'Beta over.' } })).statusCode).toBe(200);
      expect(await appStatus()).toBe('published');
      expect((await p.app.inject({ method: 'POST', url: `${base}/${v1.id}/yank`, headers: dev.auth, payload: { reason: 'All gone.' } })).statusCode).toBe(200);
      expect(await appStatus()).toBe('draft');
      expect((await eventTypes()).filter((t) => t.startsWith('version.') && !['version.submitted', 'version.checked', 'version.approved'].includes(t))).toEqual([
        'version.published',
        'version.published',
        'version.published',
        'version.yanked',
        'version.yanked',
        'version.yanked',
      ]);

      // Someone else's version is not theirs to publish or yank.
      const other = await registerUser(p, 'Mallory');
      expectProblem(await p.app.inject({ method: 'POST', url: `${base}/${v2.id}/yank`, headers: other.auth, payload: { reason: 'mine now' } }), 404, 'app_not_found');
      expect((await versionRow(p, v2.id)).status).toBe('yanked');
    });

    it('keeps one live version per channel and a true app status when publishes and yanks race', async () => {
      const { p, dev, key, app, reviewer, base, appStatus } = await setup();
      const versions = [];
      for (let code = 1; code <= 6; code += 1) versions.push(await upload(p, dev, app, key, code));
      for (const v of versions) await approve(p, reviewer, v.id);
      const publish = (id: string, channel: string) => p.app.inject({ method: 'POST', url: `${base}/${id}/publish`, headers: dev.auth, payload: { channel, rollout_percent: 100 } });
      const [first, ...rest] = versions as [(typeof versions)[number], ...typeof versions];
      expect((await publish(first.id, 'stable')).statusCode).toBe(200);
      const answers = await Promise.all(rest.map((v) => publish(v.id, 'stable')));
      for (const res of answers) if (res.statusCode !== 200) expectProblem(res, 409, 'version_older_than_live');
      const live = await p.database.db.selectFrom('versions').select(['id', 'version_code']).where('status', '=', 'published').where('superseded_at', 'is', null).execute();
      expect(live).toHaveLength(1);
      const publishedCodes = answers.filter((r) => r.statusCode === 200).map((r) => r.json<{ version_code: number }>().version_code);
      expect(live[0]?.version_code).toBe(Math.max(...publishedCodes));

      // Yanks at once: each channel keeps at most one live version (a yanked live one gives way to
      // the newest published before it), and the app's status says whether any is left.
      const lastLive = live[0]?.id ?? '';
      const onBeta = answers.findIndex((r) => r.statusCode !== 200);
      const betaVersion = onBeta >= 0 ? rest[onBeta] : undefined;
      if (betaVersion) expect((await publish(betaVersion.id, 'beta')).statusCode).toBe(200);
      const yank = (ids: string[]) => Promise.all(ids.map((id) => p.app.inject({ method: 'POST', url: `${base}/${id}/yank`, headers: dev.auth, payload: { reason: 'Recalled.' } })));
      for (const res of await yank([lastLive, betaVersion?.id].filter((id): id is string => id !== undefined))) expect(res.statusCode, res.body).toBe(200);
      const liveNow = async () => p.database.db.selectFrom('versions').select(['channel', 'version_code']).where('status', '=', 'published').where('superseded_at', 'is', null).execute();
      const published = await p.database.db.selectFrom('versions').select(['id', 'version_code']).where('status', '=', 'published').orderBy('version_code', 'desc').execute();
      expect(await liveNow()).toEqual(published.length > 0 ? [{ channel: 'stable', version_code: published[0]?.version_code }] : []);
      expect(await appStatus()).toBe(published.length > 0 ? 'published' : 'draft');
      // Every remaining published version yanked at once: nothing is live, and the app knows it.
      for (const res of await yank(published.map((v) => v.id))) if (res.statusCode !== 200) expectProblem(res, 409, 'version_not_published');
      expect(await liveNow()).toEqual([]);
      expect(await appStatus()).toBe('draft');
    });

    it('leaves an older version approved, not published, when auto-publish finds a newer one live', async () => {
      const { p, dev, key, app, reviewer } = await setup();
      const [v1, v2] = [await upload(p, dev, app, key, 1), await upload(p, dev, app, key, 2)];
      expect((await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { auto_publish: true } })).statusCode).toBe(200);
      await approve(p, reviewer, v2.id);
      const older = await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: reviewer.auth, payload: { decision: 'approve' } });
      expect(older.statusCode, older.body).toBe(200);
      expect(older.json()).toMatchObject({ status: 'approved' });
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'approved', published_at: null });
      expect(await versionRow(p, v2.id)).toMatchObject({ status: 'published' });
    });

    it('publishes at approval when the app asks for it, in the decision’s transaction', async () => {
      const { p, dev, key, app, reviewer, appStatus, eventTypes } = await setup();
      const patch = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { auto_publish: true } });
      expect(patch.statusCode, patch.body).toBe(200);
      expect(patch.json()).toMatchObject({ auto_publish: true });
      const v1 = await upload(p, dev, app, key, 1);
      const decision = await p.app.inject({ method: 'POST', url: `/v1/review/${v1.id}/decision`, headers: reviewer.auth, payload: { decision: 'approve' } });
      expect(decision.statusCode, decision.body).toBe(200);
      expect(decision.json()).toMatchObject({ status: 'published' });
      expect(await versionRow(p, v1.id)).toMatchObject({ status: 'published', channel: 'stable', rollout_percent: 100, review_decision: 'approve' });
      expect(await appStatus()).toBe('published');
      expect(await eventTypes()).toEqual(['app.created', 'version.submitted', 'version.checked', 'version.approved', 'version.published']);
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

// SQLite alone: which key scope may change the release settings, and the audit entry of a change,
// are decided and written the same way on every database.
describeOnSqlite(
  'release: publish, rollout, yank',
  (portal) => {
    const setup = () => setupOn(portal);

    it('asks for versions:publish to change auto_publish or the crash guard, and audits the change', async () => {
      const { p, dev, app } = await setup();
      const appsWrite = (await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'ci', scopes: ['apps:write', 'versions:upload'] } })).json<{ key: string }>().key;
      for (const body of [{ auto_publish: true }, { crash_guard: { crash_free_percent: 50, min_sessions: 1_000_000 } }]) {
        expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: { 'x-api-key': appsWrite }, payload: body }), 403, 'insufficient_scope');
      }
      // Listing fields stay the apps:write key's to edit.
      expect((await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: { 'x-api-key': appsWrite }, payload: { name: 'Notes 2' } })).statusCode).toBe(200);
      expect(await p.database.db.selectFrom('apps').select(['auto_publish', 'crash_guard_percent']).where('id', '=', app.id).executeTakeFirstOrThrow()).toEqual({ auto_publish: 0, crash_guard_percent: 97 });
      expect((await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { auto_publish: true } })).statusCode).toBe(200);
      const audit = await p.database.db.selectFrom('audit_log').select(['actor_id', 'details']).where('action', '=', 'app.release_settings_changed').execute();
      expect(audit).toHaveLength(1);
      expect(JSON.parse(audit[0]?.details ?? '{}')).toMatchObject({ before: { auto_publish: false }, after: { auto_publish: true } });
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
