import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { migrateToLatest, openDatabase, type Db, type PortalDatabase } from '../../src/db/index.js';
import { JobLeaseLost, JobQueue, JobWorker, JobsAdmin, type JobKind, type JobWorkerOptions } from '../../src/jobs/index.js';
import { systemClock, systemIds, type Clock } from '../../src/shared/index.js';
import { prepareDatabase, type TestDatabase } from '../support/portal.js';
import { ManualClock, clearEffectTables, countRows, createEffectTables, recordEffect, recordRun, runs } from '../support/jobs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START = '2026-12-01T10:00:30.000Z';

interface Logged {
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields: object;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the condition did not come true in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && inject('postgresUrl') === null)(`durable jobs [${dialect}]`, () => {
    let prepared: TestDatabase;
    let database: PortalDatabase;
    let db: Db;
    /** A second connection pool on the same database: another portal instance. */
    let other: PortalDatabase;
    let clock: ManualClock;
    let logs: Logged[];
    const workers: JobWorker[] = [];

    beforeAll(async () => {
      prepared = await prepareDatabase(dialect);
      const config = loadConfig({ DATABASE_URL: prepared.databaseUrl, DATA_DIR: prepared.dataDir });
      database = openDatabase(config.database);
      other = openDatabase(config.database);
      db = database.db;
      await migrateToLatest(db);
      await createEffectTables(db);
    });
    afterAll(async () => {
      while (workers.length > 0) await workers.pop()?.stop(0);
      await database.close();
      await other.close();
      await prepared.cleanup();
    });
    beforeEach(async () => {
      while (workers.length > 0) await workers.pop()?.stop(0);
      await clearEffectTables(db);
      clock = new ManualClock(Date.parse(START));
      logs = [];
    });

    function queueWith(kinds: Record<string, JobKind<never>>, queueClock: Clock = clock): JobQueue {
      const queue = new JobQueue({ clock: queueClock, ids: systemIds(queueClock) });
      for (const [kind, definition] of Object.entries(kinds)) queue.define(kind, definition);
      return queue;
    }

    function workerFor(queue: JobQueue, options: Partial<JobWorkerOptions> = {}): JobWorker {
      const log = (level: Logged['level']) => (fields: object, msg: string) => logs.push({ level, msg, fields });
      const workerClock = options.clock ?? clock;
      const worker = new JobWorker({
        db,
        dialect,
        queue,
        clock: workerClock,
        ids: systemIds(workerClock),
        log: { info: log('info'), warn: log('warn'), error: log('error') },
        leaseMs: 60_000,
        random: () => 0,
        ...options,
      });
      workers.push(worker);
      return worker;
    }

    const job = (id: string) => db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    it('enqueues in the caller\'s transaction: a rollback leaves no job, a commit leaves one that runs', async () => {
      const queue = queueWith({ 'test.effect': { handler: async (j) => recordEffect(db, (j.payload as { effect: string }).effect, j.id) } });
      await expect(
        db.transaction().execute(async (trx) => {
          await queue.enqueue(trx, { kind: 'test.effect', payload: { effect: 'rolled-back' } });
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(await db.selectFrom('jobs').selectAll().execute()).toEqual([]);

      const id = await db.transaction().execute((trx) => queue.enqueue(trx, { kind: 'test.effect', payload: { effect: 'committed' } }));
      expect(await workerFor(queue).runOnce()).toBe(1);
      // Done, and its payload (an address, say) no longer kept.
      expect(await job(id!)).toMatchObject({ state: 'done', attempts: 1, locked_by: null, locked_until: null, finished_at: START, payload: 'null' });
      expect(await countRows(db, 'job_effects')).toBe(1);
    });

    it('runs at most a kind\'s own concurrency of it at once, leaving the other slots to other kinds', async () => {
      const release: (() => void)[] = [];
      const hang = () => new Promise<void>((resolve) => release.push(resolve));
      const queue = queueWith({ 'test.slow': { concurrency: 1, handler: hang }, 'test.effect': { handler: hang } });
      // Ten slow jobs queued first: first in, first out would give them every slot.
      for (let i = 0; i < 10; i += 1) await queue.enqueue(db, { kind: 'test.slow' });
      for (let i = 0; i < 2; i += 1) await queue.enqueue(db, { kind: 'test.effect' });
      const worker = workerFor(queue, { concurrency: 3 });
      // tick(): one pass that starts jobs and leaves them running.
      expect(await worker.tick()).toBe(3);
      const running = await db.selectFrom('jobs').select(['kind']).where('state', '=', 'running').execute();
      expect(running.map((r) => r.kind).sort()).toEqual(['test.effect', 'test.effect', 'test.slow']);
      // Nothing more while all three run; when the slow one ends, the next slow one takes its place.
      expect(await worker.tick()).toBe(0);
      release.shift()?.();
      while (worker.busy === 3) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await worker.tick()).toBe(1);
      expect((await db.selectFrom('jobs').select(['kind']).where('state', '=', 'running').execute()).filter((r) => r.kind === 'test.slow')).toHaveLength(1);
      for (const done of release.splice(0)) done();
      while (worker.busy > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(() => queueWith({ 'test.bad': { concurrency: 0, handler: hang } })).toThrow('concurrency must be a positive integer');
    });

    it('enqueues a keyed job once, and refuses kinds it does not know', async () => {
      const queue = queueWith({ 'test.effect': { handler: () => Promise.resolve() } });
      expect(await queue.enqueue(db, { kind: 'test.effect', key: 'welcome:u1' })).toEqual(expect.any(String));
      expect(await queue.enqueue(db, { kind: 'test.effect', key: 'welcome:u1' })).toBeNull();
      await expect(queue.enqueue(db, { kind: 'test.nope' })).rejects.toThrow('job kind "test.nope" is not defined');
      expect(await db.selectFrom('jobs').select('key').execute()).toEqual([{ key: 'welcome:u1' }]);
    });

    it('retries a failing job with exponential backoff, then keeps it dead with its last error, bounded', async () => {
      let calls = 0;
      const queue = queueWith({
        'test.flaky': {
          maxAttempts: 3,
          backoff: { baseMs: 10_000, maxMs: 60_000 },
          handler: () => {
            calls += 1;
            return Promise.reject(new Error(`smtp down (${calls}) ${'x'.repeat(5000)}`));
          },
        },
      });
      const worker = workerFor(queue);
      const id = (await queue.enqueue(db, { kind: 'test.flaky' }))!;

      expect(await worker.runOnce()).toBe(1);
      const first = await job(id);
      // random() = 0: the jitter's lower bound, half of base * 2^0.
      expect(first).toMatchObject({ state: 'queued', attempts: 1, run_at: '2026-12-01T10:00:35.000Z' });
      expect(first.last_error).toMatch(/^Error: smtp down \(1\) x+…$/);
      expect(first.last_error!.length).toBe(2000);

      clock.advance(4_999);
      expect(await worker.runOnce()).toBe(0);
      clock.advance(1);
      expect(await worker.runOnce()).toBe(1);
      // Second failure: half of base * 2^1 = 10 s later.
      expect(await job(id)).toMatchObject({ state: 'queued', attempts: 2, run_at: '2026-12-01T10:00:45.000Z' });

      clock.advance(10_000);
      expect(await worker.runOnce()).toBe(1);
      expect(await job(id)).toMatchObject({ state: 'dead', attempts: 3, locked_by: null, finished_at: '2026-12-01T10:00:45.000Z' });
      expect((await job(id)).last_error).toMatch(/^Error: smtp down \(3\)/);
      clock.advance(3_600_000);
      expect(await worker.runOnce()).toBe(0);
      expect(calls).toBe(3);
      expect(logs.filter((l) => l.msg === 'job failed; it will be retried')).toHaveLength(2);
      expect(logs.filter((l) => l.msg === 'job failed its last attempt and is dead')).toHaveLength(1);

      // The operator's retry: a fresh set of attempts, due now.
      const admin = new JobsAdmin({ db, clock });
      expect(await admin.retry(id)).toMatchObject({ state: 'queued', attempts: 0, run_at: clock.now().toISOString() });
      await expect(admin.retry(id)).rejects.toMatchObject({ code: 'job_not_dead', status: 409 });
      await expect(admin.retry('0193a000-0000-7000-8000-000000000000')).rejects.toMatchObject({ code: 'job_not_found', status: 404 });
      expect(await worker.runOnce()).toBe(1);
      expect(calls).toBe(4);
    });

    it('runs a job again when its worker stops renewing the lease, and fences the late finisher out', async () => {
      const hangA = deferred();
      const hangB = deferred();
      let runsOfA = 0;
      const a = workerFor(
        queueWith({
          'test.effect': {
            handler: async () => {
              runsOfA += 1;
              await hangA.promise;
            },
          },
        }),
      );
      const queueB = queueWith({
        'test.effect': {
          handler: async (j) => {
            await hangB.promise;
            await recordRun(db, j.id, 'b');
          },
        },
      });
      const b = workerFor(queueB);
      const id = (await queueB.enqueue(db, { kind: 'test.effect' }))!;

      expect(await a.tick()).toBe(1);
      expect(await job(id)).toMatchObject({ state: 'running', attempts: 1, locked_by: a.id, locked_until: '2026-12-01T10:01:30.000Z' });
      // A hangs and (in this test) renews nothing: before the lease ends nobody else may take the job.
      clock.advance(59_999);
      expect(await b.tick()).toBe(0);
      clock.advance(1);
      expect(await b.tick()).toBe(1);
      expect(await job(id)).toMatchObject({ state: 'running', attempts: 2, locked_by: b.id });

      // A returns while B holds the job: A's "done" must not land, B's attempt goes on.
      hangA.resolve();
      await a.runOnce();
      expect(runsOfA).toBe(1);
      expect(await job(id)).toMatchObject({ state: 'running', attempts: 2, locked_by: b.id });
      expect(logs.some((l) => l.msg === 'job finished after its lease was lost; another attempt owns it')).toBe(true);

      hangB.resolve();
      await b.runOnce();
      expect(await job(id)).toMatchObject({ state: 'done', attempts: 2, locked_by: null });
      expect(await countRows(db, 'job_runs')).toBe(1);
    });

    it('renews the lease while the handler runs, and aborts the handler once another worker holds the job', async () => {
      const hang = deferred();
      let signal: AbortSignal | undefined;
      const queue = queueWith({
        'test.effect': {
          handler: async (j) => {
            signal = j.signal;
            await hang.promise;
          },
        },
      });
      const id = (await queue.enqueue(db, { kind: 'test.effect' }))!;
      // Renewals every 50 ms of real time; the lease is measured on the hand-moved clock.
      const worker = workerFor(queue, { leaseMs: 150, pollMs: 5 });
      worker.start();
      await until(async () => (await job(id)).state === 'running');
      const claimed = await job(id);
      expect(claimed.locked_until).toBe('2026-12-01T10:00:30.150Z');
      clock.advance(100);
      await until(async () => (await job(id)).locked_until !== claimed.locked_until);
      expect((await job(id)).locked_until).toBe('2026-12-01T10:00:30.250Z');

      await db.updateTable('jobs').set({ locked_by: 'another-worker', attempts: 2 }).where('id', '=', id).execute();
      await until(() => Promise.resolve(signal?.aborted === true));
      expect(signal?.reason).toBeInstanceOf(JobLeaseLost);
      expect(await job(id)).toMatchObject({ state: 'running', locked_by: 'another-worker', attempts: 2 });
      hang.resolve();
    });

    it('buries a job whose worker died on its last attempt instead of running it again', async () => {
      const hang = deferred();
      const a = workerFor(queueWith({ 'test.effect': { maxAttempts: 1, handler: () => hang.promise } }));
      const id = (await a['o'].queue.enqueue(db, { kind: 'test.effect' }))!;
      expect(await a.tick()).toBe(1);
      clock.advance(60_000);
      const b = workerFor(queueWith({ 'test.effect': { handler: async (j) => recordRun(db, j.id, 'b') } }));
      expect(await b.runOnce()).toBe(0);
      expect(await job(id)).toMatchObject({ state: 'dead', attempts: 1, last_error: expect.stringMatching(/lease ran out/) });
      expect(await countRows(db, 'job_runs')).toBe(0);
      hang.resolve();
    });

    it('gives running jobs back on stop, attempt not counted, and aborts the handler it stopped waiting for', async () => {
      let signal: AbortSignal | undefined;
      const worker = workerFor(
        queueWith({
          'test.effect': {
            handler: async (j) => {
              signal = j.signal;
              await new Promise(() => undefined);
            },
          },
        }),
      );
      const id = (await worker['o'].queue.enqueue(db, { kind: 'test.effect' }))!;
      expect(await worker.tick()).toBe(1);
      await worker.stop(20);
      expect(signal?.aborted).toBe(true);
      expect(await job(id)).toMatchObject({ state: 'queued', attempts: 0, locked_by: null, locked_until: null, run_at: START });
      // A stopped worker claims nothing.
      expect(await worker.tick()).toBe(0);
    });

    it('counts an attempt that outlives its timeout as failed, and aborts its signal', async () => {
      let signal: AbortSignal | undefined;
      const queue = queueWith({
        'test.slow': {
          timeoutMs: 30,
          handler: async (j) => {
            signal = j.signal;
            await new Promise(() => undefined);
          },
        },
      });
      const id = (await queue.enqueue(db, { kind: 'test.slow' }))!;
      expect(await workerFor(queue).runOnce()).toBe(1);
      expect(signal?.aborted).toBe(true);
      expect(await job(id)).toMatchObject({ state: 'queued', attempts: 1, last_error: 'Error: the attempt took longer than 30 ms' });
    });

    it('commits the effect and "done" together with markDone, and rolls the effect back when the lease was lost', async () => {
      const queue = queueWith({
        'test.tx': {
          handler: async (j) => {
            await db.transaction().execute(async (trx) => {
              await recordEffect(trx, `effect-of-${j.id}`, j.id);
              await j.markDone(trx);
            });
          },
        },
      });
      const id = (await queue.enqueue(db, { kind: 'test.tx' }))!;
      expect(await workerFor(queue).runOnce()).toBe(1);
      expect(await job(id)).toMatchObject({ state: 'done', attempts: 1 });
      expect(await countRows(db, 'job_effects')).toBe(1);

      // A handler whose lease another worker took meanwhile: markDone throws, the effect is undone.
      const gate = deferred();
      let outcome: unknown;
      const lateQueue = queueWith({
        'test.tx': {
          handler: async (j) => {
            await gate.promise;
            outcome = await db
              .transaction()
              .execute(async (trx) => {
                await recordEffect(trx, 'late-effect', j.id);
                await j.markDone(trx);
              })
              .catch((err: unknown) => err);
          },
        },
      });
      const late = workerFor(lateQueue);
      const second = (await lateQueue.enqueue(db, { kind: 'test.tx' }))!;
      expect(await late.tick()).toBe(1);
      clock.advance(60_000);
      const taker = deferred();
      const taking = workerFor(queueWith({ 'test.tx': { handler: () => taker.promise } }));
      expect(await taking.tick()).toBe(1);
      gate.resolve();
      await late.runOnce();
      expect(outcome).toBeInstanceOf(JobLeaseLost);
      expect(await job(second)).toMatchObject({ state: 'running', attempts: 2, locked_by: taking.id });
      taker.resolve();
      await taking.runOnce();
      expect(await job(second)).toMatchObject({ state: 'done', attempts: 2 });
      expect(await countRows(db, 'job_effects')).toBe(1);
    });

    it('deletes done jobs a week after they finished, and keeps dead ones', async () => {
      const queue = queueWith({ 'test.ok': { handler: () => Promise.resolve() }, 'test.bad': { maxAttempts: 1, handler: () => Promise.reject(new Error('no')) } });
      const ok = (await queue.enqueue(db, { kind: 'test.ok' }))!;
      const bad = (await queue.enqueue(db, { kind: 'test.bad' }))!;
      await workerFor(queue).runOnce();
      clock.advance(7 * 24 * 60 * 60 * 1000 - 1);
      await workerFor(queue).runOnce();
      expect((await db.selectFrom('jobs').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual([ok, bad].sort());
      clock.advance(2);
      await workerFor(queue).runOnce();
      expect(await db.selectFrom('jobs').select(['id', 'state']).execute()).toEqual([{ id: bad, state: 'dead' }]);
    });

    it('lists jobs newest first by state and kind, a page at a time', async () => {
      const queue = queueWith({ 'test.a': { handler: () => Promise.resolve() }, 'test.b': { handler: () => Promise.resolve() } });
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        ids.push((await queue.enqueue(db, { kind: i % 2 === 0 ? 'test.a' : 'test.b' }))!);
        clock.advance(1);
      }
      const admin = new JobsAdmin({ db, clock });
      const first = await admin.list({ kind: 'test.a', limit: 2 });
      expect(first.items.map((j) => j.id)).toEqual([ids[4], ids[2]]);
      expect(first.items[0]).not.toHaveProperty('payload');
      const rest = await admin.list({ kind: 'test.a', limit: 2, cursor: first.next_cursor! });
      expect(rest).toEqual({ items: [expect.objectContaining({ id: ids[0], state: 'queued', kind: 'test.a' })], next_cursor: null });
      expect((await admin.list({ state: 'dead', limit: 20 })).items).toEqual([]);
      expect((await admin.list({ state: 'queued', kind: 'test.b', limit: 20 })).items.map((j) => j.id)).toEqual([ids[3], ids[1]]);
      await expect(admin.list({ limit: 2, cursor: 'not-ours' })).rejects.toMatchObject({ code: 'invalid_cursor' });
    });

    it('fires a recurring job once per slot with two instances', async () => {
      const recurring = (name: string): JobKind<never> => ({
        schedule: '* * * * *',
        handler: async (j) => recordRun(name === 'a' ? db : other.db, j.id, name, j.slot?.toISOString() ?? null),
      });
      const a = workerFor(queueWith({ 'test.tick': recurring('a') }));
      const b = workerFor(queueWith({ 'test.tick': recurring('b') }), { db: other.db });
      for (let slot = 1; slot <= 3; slot += 1) {
        await Promise.all([a.runOnce(), b.runOnce()]);
        clock.set(`2026-12-01T10:0${slot}:00.000Z`);
        await Promise.all([a.runOnce(), b.runOnce()]);
      }
      const ran = await runs(db);
      expect(ran.map((r) => r.slot).sort()).toEqual(['2026-12-01T10:01:00.000Z', '2026-12-01T10:02:00.000Z', '2026-12-01T10:03:00.000Z']);
      // Each slot once; the next slot waits, queued.
      const rows = await db.selectFrom('jobs').select(['key', 'state']).orderBy('run_at').execute();
      expect(rows).toEqual([
        { key: 'slot:2026-12-01T10:01:00.000Z', state: 'done' },
        { key: 'slot:2026-12-01T10:02:00.000Z', state: 'done' },
        { key: 'slot:2026-12-01T10:03:00.000Z', state: 'done' },
        { key: 'slot:2026-12-01T10:04:00.000Z', state: 'queued' },
      ]);
    });

    it('never runs one job twice with two instances claiming at once', async () => {
      const count = 300;
      const kinds = (name: string, runner: Db): Record<string, JobKind<never>> => ({ 'test.count': { handler: async (j) => recordRun(runner, j.id, name) } });
      const queue = queueWith(kinds('a', db), systemClock);
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < count; i += 1) await queue.enqueue(trx, { kind: 'test.count', payload: { i } });
      });
      const options = { clock: systemClock, concurrency: 4, pollMs: 2, maxPollMs: 10 };
      const a = workerFor(queue, options);
      const b = workerFor(queueWith(kinds('b', other.db), systemClock), { ...options, db: other.db });
      a.start();
      b.start();
      const deadline = Date.now() + 20_000;
      while ((await db.selectFrom('jobs').select('id').where('state', '<>', 'done').limit(1).execute()).length > 0) {
        if (Date.now() > deadline) throw new Error('the jobs did not finish');
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all([a.stop(1000), b.stop(1000)]);
      const ran = await runs(db);
      expect(ran).toHaveLength(count);
      expect(new Set(ran.map((r) => r.job_id)).size).toBe(count);
      // Both instances took part, so the claims really raced.
      expect(ran.some((r) => r.worker === 'a')).toBe(true);
      expect(ran.some((r) => r.worker === 'b')).toBe(true);
      expect(await db.selectFrom('jobs').select('id').where('attempts', '<>', 1).execute()).toEqual([]);
    });

    it('runs a job interrupted by kill -9 to completion after a restart, exactly once in effect', async () => {
      const queue = queueWith({ 'test.effect': { handler: async (j) => recordEffect(db, (j.payload as { effect: string }).effect, j.id) } }, systemClock);
      const id = (await queue.enqueue(db, { kind: 'test.effect', payload: { effect: 'welcome-mail-to-u1' } }))!;

      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/support/job-worker.ts'), prepared.databaseUrl, prepared.dataDir], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the worker process made no effect: ${stderr}`)), 15_000);
        child.stdout.on('data', (c: Buffer) => {
          if (c.toString().includes('effect made by attempt 1')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(await job(id)).toMatchObject({ state: 'running', attempts: 1 });
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      // The restarted portal: its clock is real time, a little past the dead worker's 1 s lease.
      const later: Clock = { now: () => new Date(Date.now() + 1_500) };
      const restarted = workerFor(queueWith({ 'test.effect': { handler: async (j) => recordEffect(db, (j.payload as { effect: string }).effect, j.id) } }, later), { clock: later });
      expect(await restarted.runOnce()).toBe(1);
      expect(await job(id)).toMatchObject({ state: 'done', attempts: 2 });
      expect(await countRows(db, 'job_effects')).toBe(1);
    });
  });
}
