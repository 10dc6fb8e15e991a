import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AdminJobsService, adminJobsRoutes } from '../../src/features/admin-jobs/index.js';
import { AuditLog } from '../../src/features/audit/index.js';
import { createServer } from '../../src/http/index.js';
import { JobQueue, JobWorker, JobsAdmin } from '../../src/jobs/index.js';
import { commonError, systemIds, type Actor } from '../../src/shared/index.js';
import { runJobs, signInAdmin, TestClock } from '../support/accounts.js';
import { expectProblem, registerUser } from '../support/api.js';
import { ManualClock } from '../support/jobs.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';

const ADMIN_ID = '0193a000-0000-7000-8000-0000000000ad';

// Both dialects: the queue's worker claims jobs differently on each (FOR UPDATE SKIP LOCKED on PostgreSQL), and lists by state and kind in pages.
describeEachDatabase('admin: background jobs', (portal) => {
  let app: FastifyInstance;
  let queue: JobQueue;
  let worker: JobWorker;
  let clock: ManualClock;

  beforeEach(async () => {
    const p: TestPortal = portal();
    clock = new ManualClock(Date.parse('2026-12-01T10:00:00.000Z'));
    const ids = systemIds(clock);
    const { db, dialect } = p.database;
    queue = new JobQueue({ clock, ids });
    queue.define('test.mail', { handler: () => Promise.resolve() });
    queue.define('test.flaky', { maxAttempts: 1, handler: () => Promise.reject(new Error('smtp refused the message')) });
    worker = new JobWorker({ db, dialect, queue, clock, ids, concurrency: 8, log: { info: () => undefined, warn: () => undefined, error: () => undefined } });
    // In the portal these routes sit behind accounts' role check, whose own tests cover who may
    // pass; here a stand-in core lets only requests that name the admin through.
    const auth = {
      authenticate: (request: FastifyRequest): Promise<Actor> =>
        Promise.resolve(request.headers['x-test-admin'] === 'yes' ? { userId: ADMIN_ID, role: 'admin', scopes: null, amr: ['pwd', 'otp'] } : { userId: ids.id(), role: 'developer', scopes: null, amr: ['pwd'] }),
    };
    const admin = {
      assertRole: (actor: Actor) => (actor.role === 'admin' ? Promise.resolve() : Promise.reject(commonError('forbidden', 'Admins only.'))),
    };
    const adminJobs = new AdminJobsService({ db, jobs: new JobsAdmin({ db, clock }), audit: new AuditLog({ db, clock, ids }) });
    app = await createServer(p.config, ids, { version: 'test', logger: pino({ level: 'silent' }) });
    adminJobsRoutes(app, { core: { adminJobs, auth, admin } });
    await app.ready();
  });
  afterEach(async () => {
    await worker.stop(0);
    await app.close();
  });

  const admin = { 'x-test-admin': 'yes' };

  it('lists jobs newest first by state and kind, a page at a time, without their payloads', async () => {
    const { db } = portal().database;
    const mail: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      mail.push((await queue.enqueue(db, { kind: 'test.mail', payload: { to: `dev${i}@example.com` } }))!);
      clock.advance(1);
    }
    const flaky = (await queue.enqueue(db, { kind: 'test.flaky' }))!;
    clock.advance(1);
    await worker.runOnce();

    const dead = await app.inject({ method: 'GET', url: '/v1/admin/jobs?state=dead', headers: admin });
    expect(dead.statusCode, dead.body).toBe(200);
    expect(dead.json()).toEqual({
      items: [expect.objectContaining({ id: flaky, kind: 'test.flaky', state: 'dead', attempts: 1, max_attempts: 1, last_error: 'Error: smtp refused the message' })],
      next_cursor: null,
    });

    const first = await app.inject({ method: 'GET', url: '/v1/admin/jobs?kind=test.mail&limit=2', headers: admin });
    const page = first.json<{ items: { id: string; state: string }[]; next_cursor: string }>();
    expect(page.items.map((j) => j.id)).toEqual([mail[2], mail[1]]);
    expect(first.body).not.toContain('example.com');
    const rest = await app.inject({ method: 'GET', url: `/v1/admin/jobs?kind=test.mail&limit=2&cursor=${page.next_cursor}`, headers: admin });
    expect(rest.json()).toEqual({ items: [expect.objectContaining({ id: mail[0] })], next_cursor: null });
    // The worker ran the mail jobs too (done), and the flaky one died: none is queued.
    expect((await app.inject({ method: 'GET', url: '/v1/admin/jobs?state=queued', headers: admin })).json()).toEqual({ items: [], next_cursor: null });

    expectProblem(await app.inject({ method: 'GET', url: '/v1/admin/jobs?state=stuck', headers: admin }), 400, 'validation_failed');
    expectProblem(await app.inject({ method: 'GET', url: '/v1/admin/jobs?cursor=nonsense', headers: admin }), 400, 'invalid_cursor');
    expectProblem(await app.inject({ method: 'GET', url: '/v1/admin/jobs' }), 403, 'forbidden');
  });

  it('retries a dead job (audited), and refuses one that is not dead or does not exist, changing nothing', async () => {
    const { db } = portal().database;
    const flaky = (await queue.enqueue(db, { kind: 'test.flaky' }))!;
    const mail = (await queue.enqueue(db, { kind: 'test.mail' }))!;
    await worker.runOnce();
    clock.advance(60_000);

    const retried = await app.inject({ method: 'POST', url: `/v1/admin/jobs/${flaky}/retry`, headers: admin });
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ id: flaky, state: 'queued', attempts: 0, run_at: '2026-12-01T10:01:00.000Z', finished_at: null });
    const audit = await db.selectFrom('audit_log').select(['action', 'actor_id', 'target_id', 'details']).where('action', '=', 'job.retried').execute();
    expect(audit).toEqual([{ action: 'job.retried', actor_id: ADMIN_ID, target_id: flaky, details: JSON.stringify({ kind: 'test.flaky' }) }]);

    // It runs again (and, still failing, dies again).
    expect(await worker.runOnce()).toBe(1);
    expect(await db.selectFrom('jobs').select(['state', 'attempts']).where('id', '=', flaky).executeTakeFirst()).toEqual({ state: 'dead', attempts: 1 });

    const notDead = expectProblem(await app.inject({ method: 'POST', url: `/v1/admin/jobs/${mail}/retry`, headers: admin }), 409, 'job_not_dead');
    expect(notDead['detail']).toMatch(/this one is done/);
    expect(await db.selectFrom('jobs').select(['state', 'attempts']).where('id', '=', mail).executeTakeFirst()).toEqual({ state: 'done', attempts: 1 });
    expectProblem(await app.inject({ method: 'POST', url: '/v1/admin/jobs/0193a000-0000-7000-8000-000000000000/retry', headers: admin }), 404, 'job_not_found');
    expectProblem(await app.inject({ method: 'POST', url: `/v1/admin/jobs/${flaky}/retry` }), 403, 'forbidden');
    expect(await db.selectFrom('audit_log').select('id').where('action', '=', 'job.retried').execute()).toHaveLength(1);
  });
});

let portalClock: TestClock;

describeOnSqlite(
  'admin: background jobs, wired into the portal',
  (portal) => {
    it('shows and retries the portal worker’s dead jobs to a second-factor admin, and to no developer', async () => {
      const p = portal();
      const admin = await signInAdmin(p, portalClock);
      const dev = await registerUser(p);
      // The developer's verification mail is a job of this worker too: sent first (to the outbox).
      expect(await runJobs(p)).toBe(1);
      p.jobs.define('test.broken', { maxAttempts: 1, handler: () => Promise.reject(new Error('nothing works')) });
      const broken = (await p.jobs.enqueue(p.database.db, { kind: 'test.broken' }))!;
      expect(p.jobWorker).not.toBeNull();
      expect(await p.jobWorker!.runOnce()).toBe(1);

      const listed = await p.app.inject({ method: 'GET', url: '/v1/admin/jobs?state=dead', headers: admin.auth });
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json()).toMatchObject({ items: [{ id: broken, kind: 'test.broken', state: 'dead', last_error: 'Error: nothing works' }], next_cursor: null });
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/admin/jobs', headers: dev.auth }), 403, 'forbidden');
      expectProblem(await p.app.inject({ method: 'POST', url: `/v1/admin/jobs/${broken}/retry`, headers: dev.auth }), 403, 'forbidden');
      const retried = await p.app.inject({ method: 'POST', url: `/v1/admin/jobs/${broken}/retry`, headers: admin.auth });
      expect(retried.statusCode, retried.body).toBe(200);
      expect(retried.json()).toMatchObject({ id: broken, state: 'queued', attempts: 0 });
    });
  },
  {
    deps: () => {
      portalClock = new TestClock();
      return { clock: portalClock };
    },
  },
);
