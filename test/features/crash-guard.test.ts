import { expect, it } from 'vitest';
import type { SessionHealth, VersionHealth } from '../../src/features/versions/index.js';
import { TestClock } from '../support/accounts.js';
import { expectProblem, type TestUser } from '../support/api.js';
import { describeEachDatabase } from '../support/portal.js';
import { approve, reviewWorld, upload, versionRow } from '../support/review.js';

let clock: TestClock;
/** What "telemetry" answers per version id; the telemetry feature implements VersionHealth later. */
let health: Map<string, SessionHealth>;
const versionHealth: VersionHealth = { sessionsOf: (id) => Promise.resolve(health.get(id) ?? null) };

describeEachDatabase(
  'release: the crash guard',
  (portal) => {
    async function liveRollout(percent: number) {
      const p = portal();
      const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Alice Reviewer']);
      const reviewer = reviewers[0] as TestUser;
      const v1 = await upload(p, dev, app, key, 1);
      await approve(p, reviewer, v1.id);
      const published = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${v1.id}/publish`, headers: dev.auth, payload: { channel: 'stable', rollout_percent: percent } });
      expect(published.statusCode, published.body).toBe(200);
      return { p, dev, app, version: v1.id };
    }

    it('halts a staged rollout whose crash-free sessions fall below 97 % over 200 sessions, with its reason, audited, as an event', async () => {
      const { p, dev, app, version } = await liveRollout(20);
      // No data, too few sessions, or healthy enough: nothing halts.
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 1, halted: [] });
      health.set(version, { sessions: 199, crashFreeSessions: 100 });
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 1, halted: [] });
      health.set(version, { sessions: 1000, crashFreeSessions: 970 });
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 1, halted: [] });
      expect((await versionRow(p, version)).halted_at).toBeNull();

      health.set(version, { sessions: 250, crashFreeSessions: 240 });
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 1, halted: [version] });
      const row = await versionRow(p, version);
      expect(row).toMatchObject({ status: 'published', rollout_percent: 20, halted_at: clock.now().toISOString() });
      expect(row.halt_reason).toBe("Halted by the crash guard: 96.0 % crash-free sessions over 250 sessions, below this app's 97 %.");
      const shown = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/versions/${version}`, headers: dev.auth });
      expect(shown.json()).toMatchObject({ rollout: { halted: true, halt_reason: row.halt_reason } });
      const audit = await p.database.db.selectFrom('audit_log').select(['actor_id', 'target_id', 'details']).where('action', '=', 'version.halted').execute();
      expect(audit).toEqual([{ actor_id: null, target_id: version, details: expect.stringContaining('"sessions":250') }]);
      const events = await p.database.db.selectFrom('events').select(['type', 'payload']).orderBy('id', 'desc').limit(1).execute();
      expect(events[0]?.type).toBe('version.rollout_changed');
      expect(JSON.parse(events[0]?.payload ?? '{}')).toMatchObject({ version_id: version, halted: true, by: 'crash_guard' });

      // Halted once: the next sweep leaves it alone; the developer decides when to resume.
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 0, halted: [] });
      const resumed = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}/versions/${version}/rollout`, headers: dev.auth, payload: { halted: false } });
      expect(resumed.json()).toMatchObject({ rollout: { halted: false } });
    });

    it("follows the app's own rule, leaves full rollouts alone, and runs as a recurring job", async () => {
      const { p, dev, app, version } = await liveRollout(20);
      health.set(version, { sessions: 100, crashFreeSessions: 85 });
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 1, halted: [] });
      expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { crash_guard: { crash_free_percent: 20, min_sessions: 50 } } }), 400, 'validation_failed');
      const rule = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { crash_guard: { crash_free_percent: 90, min_sessions: 50 } } });
      expect(rule.statusCode, rule.body).toBe(200);
      expect(rule.json()).toMatchObject({ crash_guard: { crash_free_percent: 90, min_sessions: 50 } });

      // The recurring job: the worker keeps the next five-minute slot queued and runs it when due.
      await p.jobWorker?.runOnce();
      expect((await versionRow(p, version)).halted_at).toBeNull();
      clock.advance(5 * 60_000);
      await p.jobWorker?.runOnce();
      expect((await versionRow(p, version)).halted_at).not.toBeNull();

      // At 100 % there is nothing left to stage: the guard does not watch it.
      const rollout = (payload: object) => p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}/versions/${version}/rollout`, headers: dev.auth, payload });
      expect((await rollout({ rollout_percent: 100 })).statusCode).toBe(200);
      expect((await rollout({ halted: false })).statusCode).toBe(200);
      expect(await p.core.crashGuard.sweep()).toEqual({ checked: 0, halted: [] });
      expect((await versionRow(p, version)).halted_at).toBeNull();
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      health = new Map();
      return { clock, versionHealth };
    },
  },
);
