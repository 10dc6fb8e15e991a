import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPortal, type Portal } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { migrateToLatest } from '../../src/db/index.js';
import { MAIL_JOB } from '../../src/features/notifications/index.js';
import { runJobs, signInAdmin, startMailServer, TestClock, tokenIn } from '../support/accounts.js';
import { PASSWORD, registerUser } from '../support/api.js';
import { describeEachDatabase, prepareMigratedDatabase, sharedPackageChecker, startPortal, type TestPortal } from '../support/portal.js';

/** Account email as durable jobs (features/notifications), against a real SMTP server. */

let mail: Awaited<ReturnType<typeof startMailServer>>;
beforeAll(async () => {
  mail = await startMailServer();
});
afterEach(() => mail.refuse(0));
afterAll(async () => {
  await mail.close();
});

let counter = 0;
/** An address of this test's own: the mail server is shared by every test of the file. */
const address = (what: string) => `${what}-${(counter += 1)}-${Date.now()}@example.com`;
const sent = (to: string) => mail.messages.filter((m) => m.to.includes(to));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function register(p: { app: Portal['app'] }, email: string): Promise<void> {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD, name: 'Dev' } });
  expect(res.statusCode, res.body).toBe(202);
}

const postgres = inject('postgresUrl') !== null;
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && !postgres)(`notifications: mail survives a crash [${dialect}]`, () => {
    it('a mail enqueued with its change is sent by the next portal on the database when the first stopped before its worker ran, once', async () => {
      const database = await prepareMigratedDatabase(dialect);
      const clock = new TestClock();
      const open = async () => {
        const config = loadConfig({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, SMTP_URL: mail.url, LOG_LEVEL: 'warn' });
        const portal = await createPortal(config, { packageChecker: sharedPackageChecker(), clock, logStream: new PassThrough() });
        await migrateToLatest(portal.core.db);
        return portal;
      };
      const email = address('crash');
      try {
        const first = await open();
        await register(first, email);
        const queued = await first.core.db.selectFrom('jobs').select(['kind', 'state']).execute();
        expect(queued).toEqual([{ kind: MAIL_JOB, state: 'queued' }]);
        // The portal goes away before any worker took the job (nothing is sent on the way out).
        await first.close();
        await pause(200);
        expect(sent(email)).toHaveLength(0);

        const second = await open();
        try {
          expect(await runJobs(second.core)).toBe(1);
          const message = await mail.waitFor(email);
          expect(await runJobs(second.core)).toBe(0);
          await pause(200);
          expect(sent(email)).toHaveLength(1);
          // The link is the one the first portal stored with the account: it verifies.
          const verified = await second.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: tokenIn(message, 'mev_') } });
          expect(verified.statusCode, verified.body).toBe(200);
          // Done, and its payload dropped (JSON null).
          expect(await second.core.db.selectFrom('jobs').select(['state', 'payload']).where('kind', '=', MAIL_JOB).execute()).toEqual([{ state: 'done', payload: 'null' }]);
        } finally {
          await second.close();
        }
      } finally {
        await database.cleanup();
      }
    });
  });
}

let clock: TestClock;

describeEachDatabase(
  'notifications: mail and its transaction',
  (portal) => {
    it('a rolled-back change enqueues no mail; a committed one does', async () => {
      const p = portal();
      const { db } = p.database;
      const lost = address('rolled-back');
      await expect(
        db.transaction().execute(async (trx) => {
          await p.core.mailer.enqueue(trx, { to: lost, subject: 'Never sent', text: 'The change this belongs to failed.' });
          throw new Error('the change failed after its mail was enqueued');
        }),
      ).rejects.toThrow('the change failed');
      expect(await db.selectFrom('jobs').select('id').execute()).toHaveLength(0);
      expect(await runJobs(p)).toBe(0);

      const kept = address('committed');
      await db.transaction().execute((trx) => p.core.mailer.enqueue(trx, { to: kept, subject: 'Sent', text: 'The change committed.' }));
      expect(await runJobs(p)).toBe(1);
      await mail.waitFor(kept);
      await pause(100);
      expect(sent(lost)).toHaveLength(0);
    });
  },
  {
    env: () => ({ SMTP_URL: mail.url }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describe('notifications: retries, dead mail, sealed payloads [sqlite]', () => {
  let current: { portal: TestPortal; stop: () => Promise<void> };
  beforeEach(async () => {
    clock = new TestClock();
    current = await startPortal('sqlite', { SMTP_URL: mail.url }, { clock });
  });
  afterEach(async () => {
    await current.stop();
  });
  const job = (p: TestPortal) => p.database.db.selectFrom('jobs').selectAll().where('kind', '=', MAIL_JOB).executeTakeFirstOrThrow();

  it('retries a mail the SMTP server turned away, after a growing delay, and delivers it once', async () => {
    const p = current.portal;
    const dev = await registerUser(p);
    mail.refuse(2);
    expect(await runJobs(p)).toBe(1);
    const afterFirst = await job(p);
    expect(afterFirst).toMatchObject({ state: 'queued', attempts: 1 });
    expect(afterFirst.last_error).toMatch(/451|busy/i);
    expect(Date.parse(afterFirst.run_at) - clock.now().getTime()).toBeGreaterThanOrEqual(5_000);
    // Not due yet: nothing runs until the delay has passed.
    expect(await runJobs(p)).toBe(0);

    clock.advance(10_000);
    expect(await runJobs(p)).toBe(1);
    expect(await job(p)).toMatchObject({ state: 'queued', attempts: 2 });
    clock.advance(20_000);
    expect(await runJobs(p)).toBe(1);
    const message = await mail.waitFor(dev.email);
    expect(message.raw).toMatch(/Subject: Confirm your email/);
    expect(await job(p)).toMatchObject({ state: 'done', attempts: 3, payload: 'null' });
    await pause(100);
    expect(sent(dev.email)).toHaveLength(1);
  });

  it('keeps a mail that fails every attempt as dead, sealed, listed for admins, and sends it when an admin retries it', async () => {
    const p = current.portal;
    const dev = await registerUser(p);
    mail.refuse(Number.POSITIVE_INFINITY);
    // (Recurring jobs, the crash guard's among them, run too as the clock moves: count the mail's attempts.)
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      await runJobs(p);
      expect((await job(p)).attempts).toBe(attempt);
      clock.advance(31 * 60_000);
    }
    const dead = await job(p);
    expect(dead).toMatchObject({ state: 'dead', attempts: 10, max_attempts: 10 });
    await runJobs(p);
    expect(await job(p)).toMatchObject({ state: 'dead', attempts: 10 });

    // Hours have passed: the admin signs in now, with a fresh access token.
    const admin = await signInAdmin(p, clock);
    const listed = await p.app.inject({ method: 'GET', url: `/v1/admin/jobs?state=dead&kind=${MAIL_JOB}`, headers: admin.auth });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json()).toMatchObject({ items: [{ id: dead.id, kind: MAIL_JOB, state: 'dead', attempts: 10, last_error: expect.stringMatching(/451|busy/i) }] });

    mail.refuse(0);
    const retried = await p.app.inject({ method: 'POST', url: `/v1/admin/jobs/${dead.id}/retry`, headers: admin.auth });
    expect(retried.statusCode, retried.body).toBe(200);
    await runJobs(p);
    expect(await job(p)).toMatchObject({ state: 'done' });
    const token = tokenIn(await mail.waitFor(dev.email), 'mev_');
    // The dead row kept its payload all that time: sealed, no token, address or words in clear.
    expect(dead.payload).toMatch(/enc1:/);
    for (const clear of [token, dev.email, 'Confirm your email', 'Welcome']) expect(dead.payload).not.toContain(clear);
    expect((await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } })).statusCode).toBe(200);
  });

  it('never stores a verification or reset token in clear in the jobs table', async () => {
    const p = current.portal;
    const dev = await registerUser(p);
    const rows = async () => JSON.stringify(await p.database.db.selectFrom('jobs').selectAll().execute());
    const atSignUp = await rows();
    expect(await runJobs(p)).toBe(1);
    const verify = tokenIn(await mail.waitFor(dev.email), 'mev_');

    await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
    const atRequest = await rows();
    // One pass runs the reset job: it writes the token and enqueues the mail, sent by the next pass.
    expect(await p.jobWorker!.runOnce()).toBe(1);
    const beforeSending = await rows();
    expect(beforeSending).toContain('enc1:');
    expect(await runJobs(p)).toBe(1);
    const reset = tokenIn(await mail.waitFor(dev.email, 2), 'mpr_');
    for (const snapshot of [atSignUp, atRequest, beforeSending]) {
      expect(snapshot).not.toContain(verify);
      expect(snapshot).not.toContain(reset);
    }
    // Done jobs drop their payload.
    expect(await rows()).not.toContain('enc1:');
  });
});
