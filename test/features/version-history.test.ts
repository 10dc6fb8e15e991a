import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem, registerUser, type TestUser } from '../support/api.js';
import { describeEachDatabase } from '../support/portal.js';
import { approve, reviewWorld, upload } from '../support/review.js';

let clock: TestClock;

interface HistoryEntry {
  id: number;
  type: string;
  created_at: string;
  actor: 'owner' | 'staff' | 'portal';
  data: Record<string, unknown>;
}

// Both dialects: the history is found by a text match on the event payloads, which each database stores.
describeEachDatabase(
  'versions: history',
  (portal) => {
    it("answers a version's events oldest first, with who caused each, and the other versions' changes to it", async () => {
      const p = portal();
      const { dev, key, app, reviewers } = await reviewWorld(p, clock, ['Alice Reviewer']);
      const reviewer = reviewers[0] as TestUser;
      const base = `/v1/apps/${app.id}/versions`;
      const history = async (versionId: string, user: TestUser = dev) => {
        const res = await p.app.inject({ method: 'GET', url: `${base}/${versionId}/history`, headers: user.auth });
        expect(res.statusCode, res.body).toBe(200);
        return res.json<{ items: HistoryEntry[] }>().items;
      };
      const call = async (method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown>) => {
        const res = await p.app.inject({ method, url, headers: dev.auth, payload });
        expect(res.statusCode, res.body).toBe(200);
      };

      const v1 = await upload(p, dev, app, key, 1);
      expect((await history(v1.id)).map((e) => [e.type, e.actor])).toEqual([
        ['version.submitted', 'owner'],
        ['version.checked', 'portal'],
      ]);

      await approve(p, reviewer, v1.id);
      await call('POST', `${base}/${v1.id}/publish`, { channel: 'stable', rollout_percent: 10 });
      await call('PATCH', `${base}/${v1.id}/rollout`, { rollout_percent: 100 });
      await call('PATCH', `${base}/${v1.id}/rollout`, { halted: true, reason: 'Crashes on start.' });
      await call('PATCH', `${base}/${v1.id}/rollout`, { halted: false });
      // A second version supersedes the first on stable, then its yank makes the first live again.
      const v2 = await upload(p, dev, app, key, 2);
      await approve(p, reviewer, v2.id);
      await call('POST', `${base}/${v2.id}/publish`, { channel: 'stable', rollout_percent: 100 });
      await call('POST', `${base}/${v2.id}/yank`, { reason: 'Broke sync.' });

      const first = await history(v1.id);
      expect(first.map((e) => [e.type, e.actor])).toEqual([
        ['version.submitted', 'owner'],
        ['version.checked', 'portal'],
        ['version.approved', 'staff'],
        ['version.published', 'owner'],
        ['version.rollout_changed', 'owner'],
        ['version.rollout_changed', 'owner'],
        ['version.rollout_changed', 'owner'],
        ['version.published', 'owner'],
        ['version.yanked', 'owner'],
      ]);
      expect(first.map((e) => e.id)).toEqual([...first.map((e) => e.id)].sort((a, b) => a - b));
      expect(first[1]?.data).toMatchObject({ version_id: v1.id, status: 'pending_review', version_code: 1, blocking_findings: 0 });
      expect(first[3]?.data).toMatchObject({ version_id: v1.id, channel: 'stable', rollout_percent: 10 });
      expect(first[5]?.data).toMatchObject({ halted: true, reason: 'Crashes on start.' });
      // The other version's publish names this one as superseded; its yank names it as restored.
      expect(first[7]?.data).toMatchObject({ version_id: v2.id, superseded: [v1.id] });
      expect(first[8]?.data).toMatchObject({ version_id: v2.id, restored: v1.id });
      expect(first.every((e) => typeof e.created_at === 'string')).toBe(true);

      // The second version's history holds its own events only.
      expect((await history(v2.id)).map((e) => e.type)).toEqual(['version.submitted', 'version.checked', 'version.approved', 'version.published', 'version.yanked']);

      // Someone else's app is nobody's business; a version of another app is not this app's.
      const stranger = await registerUser(p, 'Mallory');
      expectProblem(await p.app.inject({ method: 'GET', url: `${base}/${v1.id}/history`, headers: stranger.auth }), 404, 'app_not_found');
      const otherApp = (await p.app.inject({ method: 'POST', url: '/v1/apps', headers: dev.auth, payload: { package_id: 'com.example.other', name: 'Other' } })).json<{ id: string }>();
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${otherApp.id}/versions/${v1.id}/history`, headers: dev.auth }), 404, 'version_not_found');
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
