import { expect, it } from 'vitest';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { signInAdmin, TestClock } from '../support/accounts.js';
import { describeEachDatabase, describeOnSqlite } from '../support/portal.js';

let clock: TestClock;

interface Entry {
  id: string;
  at: string;
  actor_id: string | null;
  action: string;
  target_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

// Both dialects: the audit log's filters and pages are queries.
describeEachDatabase(
  'admin: audit log',
  (portal) => {
    it('records logins and failures, key, role and 2FA changes, and filters them', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const dev = await registerUser(p);
      clock.advance(1000);
      const since = clock.now().toISOString();
      // Entry ids are time-ordered to the millisecond; the test clock moves between actions.
      const step = () => clock.advance(1);
      await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: 'not the password!' } });
      step();
      await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ghost@example.com', password: 'not the password!' } });
      step();
      await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } });
      step();
      const key = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'ci', scopes: ['apps:read'] } });
      step();
      await p.app.inject({ method: 'DELETE', url: `/v1/keys/${key.json().id}`, headers: dev.auth });
      step();
      await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${dev.id}`, headers: admin.auth, payload: { role: 'reviewer' } });

      const all = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?from=${encodeURIComponent(since)}&limit=100`, headers: admin.auth });
      expect(all.statusCode, all.body).toBe(200);
      const entries = all.json<{ items: Entry[] }>().items;
      expect(entries.map((e) => e.action)).toEqual(['role.changed', 'api_key.revoked', 'api_key.created', 'login.succeeded', 'login.failed', 'login.failed']);
      const [unknownFail, wrongFail] = entries.filter((e) => e.action === 'login.failed');
      expect(wrongFail).toMatchObject({ actor_id: dev.id, details: { email: dev.email, reason: 'wrong_password' }, ip: '127.0.0.1' });
      expect(unknownFail).toMatchObject({ actor_id: null, details: { email: 'ghost@example.com', reason: 'unknown_email' } });
      expect(entries[0]).toMatchObject({ actor_id: admin.id, target_id: dev.id, details: { from: 'developer', to: 'reviewer' } });
      // The audit log holds facts, never secrets.
      expect(all.body).not.toContain(PASSWORD);
      expect(all.body).not.toContain(key.json().key);

      const failures = await p.app.inject({ method: 'GET', url: '/v1/admin/audit?action=login.failed', headers: admin.auth });
      expect(failures.json().items).toHaveLength(2);
      const byActor = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?actor_id=${dev.id}&action=api_key.created`, headers: admin.auth });
      expect(byActor.json().items).toHaveLength(1);
      const twoFactor = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?action=totp.enabled&actor_id=${admin.id}`, headers: admin.auth });
      expect(twoFactor.json().items).toHaveLength(1);
      const none = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?to=${encodeURIComponent('2000-01-01T00:00:00Z')}`, headers: admin.auth });
      expect(none.json().items).toEqual([]);

      const page1 = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?from=${encodeURIComponent(since)}&limit=4`, headers: admin.auth });
      const page2 = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?from=${encodeURIComponent(since)}&limit=4&cursor=${page1.json().next_cursor}`, headers: admin.auth });
      expect([...page1.json().items, ...page2.json().items].map((e: Entry) => e.id)).toEqual(entries.map((e) => e.id));
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

// SQLite alone: a filter refused before any query, and the routes that do not exist.
describeOnSqlite(
  'admin: audit log',
  (portal) => {
    it('refuses bad filters with a clear error', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      for (const query of ['action=drop_table', 'from=yesterday', 'limit=1000', 'colour=red', 'cursor=%%%']) {
        const res = await p.app.inject({ method: 'GET', url: `/v1/admin/audit?${query}`, headers: admin.auth });
        expect(res.statusCode, query).toBe(400);
      }
    });

    it('is append-only: there is no route that edits or deletes entries', async () => {
      const p = portal();
      const admin = await signInAdmin(p, clock);
      const before = await p.database.db.selectFrom('audit_log').select('id').execute();
      for (const method of ['DELETE', 'PATCH', 'PUT', 'POST'] as const) {
        const res = await p.app.inject({ method, url: '/v1/admin/audit', headers: admin.auth, payload: {} });
        expectProblem(res, 405, 'method_not_allowed');
      }
      expect(await p.database.db.selectFrom('audit_log').select('id').execute()).toEqual(before);
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
