import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { runJobs, startMailServer, TestClock, tokenIn } from '../support/accounts.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';
import { expectSquatterLockedOut, squatAccount } from '../support/takeover.js';

let clock: TestClock;
let mail: Awaited<ReturnType<typeof startMailServer>>;
let silent: Awaited<ReturnType<typeof startSilentMailServer>>;

beforeAll(async () => {
  mail = await startMailServer();
  silent = await startSilentMailServer();
});
afterAll(async () => {
  await mail.close();
  await silent.close();
});

async function login(p: TestPortal, email: string, password = PASSWORD) {
  return p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
}

describeOnSqlite(
  'accounts: email verification, password reset, logout',
  (portal) => {
    it('mails a verification link over SMTP; the token verifies once and only before it expires', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await runJobs(p);
      const message = await mail.waitFor(dev.email);
      expect(message.raw).toMatch(/Subject: Confirm your email/);
      expect(message.raw).not.toContain(PASSWORD);
      const token = tokenIn(message, 'mev_');

      const bad = await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: 'mev_not-a-real-token-at-all' } });
      expectProblem(bad, 400, 'invalid_token');
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).json().email_verified).toBe(false);

      const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ id: dev.id, email_verified: true });
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } }), 400, 'invalid_token');
      // A token in the database is only a hash.
      const rows = await p.database.db.selectFrom('email_tokens').select('token_hash').execute();
      expect(JSON.stringify(rows)).not.toContain(token);
    });

    it('refuses an expired verification token and leaves the account unverified', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await runJobs(p);
      const token = tokenIn(await mail.waitFor(dev.email), 'mev_');
      clock.advance(24 * 3600 * 1000);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } }), 400, 'invalid_token');
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } })).json().user.email_verified).toBe(false);
      // A fresh link can be asked for.
      const resend = await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email/resend', headers: { authorization: `Bearer ${(await login(p, dev.email)).json().access_token}` } });
      expect(resend.statusCode).toBe(202);
      await runJobs(p);
      const fresh = tokenIn(await mail.waitFor(dev.email, 2), 'mev_');
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: fresh } })).statusCode).toBe(200);
    });

    it('answers forgot-password the same for unknown emails and mails a reset link only to real accounts', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await runJobs(p);
      await mail.waitFor(dev.email);
      const known = await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
      const unknown = await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: 'nobody-here@example.com' } });
      expect(known.statusCode).toBe(202);
      expect(unknown.statusCode).toBe(202);
      expect(unknown.body).toBe(known.body);
      // Both answers only enqueued the same job; the lookup, the token and the mail come after.
      expect(await p.database.db.selectFrom('email_tokens').select('id').where('purpose', '=', 'password_reset').execute()).toHaveLength(0);
      expect(await runJobs(p)).toBe(3);
      const resetMail = await mail.waitFor(dev.email, 2);
      expect(resetMail.raw).toMatch(/Subject: Reset your Mosis Portal password/);
      expect(mail.messages.some((m) => m.to.includes('nobody-here@example.com'))).toBe(false);
    });

    it('mails the owner of an existing account when someone signs up with their address, and changes nothing', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await runJobs(p);
      await mail.waitFor(dev.email);
      const again = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: dev.email, password: 'someone elses password', name: 'Other' } });
      expect(again.statusCode).toBe(202);
      await runJobs(p);
      const notice = await mail.waitFor(dev.email, 2);
      expect(notice.raw).toMatch(/Subject: Someone tried to sign up to Mosis Portal with your address/);
      expect(notice.raw).not.toContain('someone elses password');
      // No link in it: whoever tried gets nothing they could use, and the owner's account is as it was.
      expect(notice.raw).not.toMatch(/m(ev|pr)_[A-Za-z0-9_-]{20}/);
      expect(await p.database.db.selectFrom('email_tokens').select('id').execute()).toHaveLength(1);
      expect((await login(p, dev.email)).statusCode).toBe(200);
    });

    it("a reset link for a never-verified account takes it over: the registrant's password, sessions, keys and 2FA stop", async () => {
      const p = portal();
      // Someone registered the owner's address first and set the account up as theirs.
      // The mail server is shared by both dialects' runs: an address of this run's own.
      const owner = `owner-${p.dialect}@example.com`;
      const squatter = await squatAccount(p, owner, clock);
      await runJobs(p);
      await mail.waitFor(owner);
      // The owner, who has the mailbox, asks for a reset link.
      await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: owner } });
      await runJobs(p);
      const token = tokenIn(await mail.waitFor(owner, 2), 'mpr_');
      const reset = await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'the owner chose this' } });
      expect(reset.statusCode, reset.body).toBe(204);

      await expectSquatterLockedOut(p, squatter);
      // The owner signs in with the new password and no second factor (the squatter's is gone).
      const signedIn = await login(p, owner, 'the owner chose this');
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      expect(signedIn.json().user).toMatchObject({ id: squatter.id, email_verified: true, totp_enabled: false });
      const audit = await p.database.db.selectFrom('audit_log').select('details').where('action', '=', 'account.taken_over').executeTakeFirstOrThrow();
      expect(JSON.parse(audit.details)).toMatchObject({ via: 'password_reset', api_keys_revoked: 1, totp_removed: true, password_replaced: true });
    });

    it('resets the password with a single-use token, ending every session; a refused password keeps the link', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
      await runJobs(p);
      const token = tokenIn(await mail.waitFor(dev.email, 2), 'mpr_');
      const hashBefore = (await p.database.db.selectFrom('users').select('password_hash').where('id', '=', dev.id).executeTakeFirstOrThrow()).password_hash;

      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'short' } }), 422, 'password_policy');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'password1234' } }), 422, 'password_too_common');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: 'mpr_wrong-token-value-xx', password: 'my new long password' } }), 400, 'invalid_token');
      expect((await p.database.db.selectFrom('users').select('password_hash').where('id', '=', dev.id).executeTakeFirstOrThrow()).password_hash).toBe(hashBefore);
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).statusCode).toBe(200);

      const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'my new long password' } });
      expect(ok.statusCode, ok.body).toBe(204);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token, password: 'yet another password' } }), 400, 'invalid_token');
      expectProblem(await login(p, dev.email), 401, 'invalid_credentials');
      expect((await login(p, dev.email, 'my new long password')).statusCode).toBe(200);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } }), 401, 'invalid_refresh_token');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth }), 401, 'unauthorized');
    });

    it('refuses an expired reset token and voids older links when a new one is sent', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
      await runJobs(p);
      const first = tokenIn(await mail.waitFor(dev.email, 2), 'mpr_');
      await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
      await runJobs(p);
      const second = tokenIn(await mail.waitFor(dev.email, 3), 'mpr_');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: first, password: 'my new long password' } }), 400, 'invalid_token');
      clock.advance(3600 * 1000);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: second, password: 'my new long password' } }), 400, 'invalid_token');
      expect((await login(p, dev.email)).statusCode).toBe(200);
    });

    it('logs out: the session ends, other sessions stay', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = (await login(p, dev.email)).json<{ access_token: string; refresh_token: string }>();
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/logout' }), 401, 'unauthorized');
      const res = await p.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: dev.auth });
      expect(res.statusCode).toBe(204);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } }), 401, 'invalid_refresh_token');
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${other.access_token}` } })).statusCode).toBe(200);
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refresh_token } })).statusCode).toBe(200);
    });

    it('changes the password only with the current one, then ends every session', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const other = (await login(p, dev.email)).json<{ refresh_token: string }>();
      const wrong = await p.app.inject({ method: 'POST', url: '/v1/auth/password/change', headers: dev.auth, payload: { current_password: 'not my password!', new_password: 'my new long password' } });
      expectProblem(wrong, 401, 'invalid_credentials');
      const weak = await p.app.inject({ method: 'POST', url: '/v1/auth/password/change', headers: dev.auth, payload: { current_password: PASSWORD, new_password: 'short' } });
      expectProblem(weak, 422, 'password_policy');
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).statusCode).toBe(200);
      expect((await login(p, dev.email)).statusCode).toBe(200);

      const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/password/change', headers: dev.auth, payload: { current_password: PASSWORD, new_password: 'my new long password' } });
      expect(ok.statusCode).toBe(204);
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth }), 401, 'unauthorized');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: other.refresh_token } }), 401, 'invalid_refresh_token');
      expect((await login(p, dev.email, 'my new long password')).statusCode).toBe(200);
    });

    it('keeps email tokens out of the logs', async () => {
      const p = portal();
      const dev = await registerUser(p);
      await runJobs(p);
      const verify = tokenIn(await mail.waitFor(dev.email), 'mev_');
      await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token: verify } });
      await p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email: dev.email } });
      await runJobs(p);
      const reset = tokenIn(await mail.waitFor(dev.email, 2), 'mpr_');
      await p.app.inject({ method: 'POST', url: '/v1/auth/password/reset', payload: { token: reset, password: 'my new long password' } });
      for (const secret of [verify, reset, 'my new long password', PASSWORD]) expect(p.logs()).not.toContain(secret);
    });
  },
  {
    env: () => ({ SMTP_URL: mail.url, MAIL_FROM: 'Portal <portal@example.com>' }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describeOnSqlite('accounts: outbox without SMTP', (portal) => {
  it('writes each message to DATA_DIR/outbox as an .eml file and logs the file, not the token', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const outbox = path.join(p.dataDir, 'outbox');
    // Sign-up queues its mail as a job; the worker writes it.
    await runJobs(p);
    const emls = async () => (await readdir(outbox).catch(() => [])).filter((f) => f.endsWith('.eml'));
    for (let i = 0; i < 200 && (await emls()).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const files = await emls();
    expect(files).toHaveLength(1);
    const raw = await readFile(path.join(outbox, files[0] ?? ''), 'utf8');
    expect(raw).toContain(`To: ${dev.email}`);
    const token = tokenIn({ to: [dev.email], raw }, 'mev_');
    expect(p.logs()).toContain('outbox');
    expect(p.logs()).not.toContain(token);
    const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/verify-email', payload: { token } });
    expect(ok.statusCode).toBe(200);
  });
});

/** An SMTP server that accepts connections and never says a word: every send hangs. */
async function startSilentMailServer(): Promise<{ url: string; stayQuiet(): void; hangUp(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let hungUp = false;
  const server = createServer((socket) => {
    if (hungUp) return socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // Cuts the hanging sends off, so the portal's mail queue drains when it closes.
    hangUp: () => {
      hungUp = true;
      for (const socket of sockets) socket.destroy();
    },
    stayQuiet: () => {
      hungUp = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeOnSqlite(
  'accounts: answers that do not wait on mail',
  (portal) => {
    it('answers sign-up, new address or taken, while the mail server has not even said hello', async () => {
      const p = portal();
      silent.stayQuiet();
      // The worker runs: its mail jobs sit waiting for the greeting while the answers must not.
      p.jobWorker?.start();
      try {
        const answer = async (email: string) => {
          const res = await Promise.race([
            p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD, name: 'Dev' } }),
            new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000)),
          ]);
          expect(res?.statusCode).toBe(202);
          return res?.body;
        };
        const fresh = await answer('new@example.com');
        const taken = await answer('new@example.com');
        expect(taken).toBe(fresh);
      } finally {
        silent.hangUp();
      }
    });
  },
  { env: () => ({ SMTP_URL: silent.url }) },
);

describe.skipIf(inject('postgresUrl') === null)('accounts: forgot-password does its work after answering [postgres]', () => {
  it('answers a known address while its reset token cannot even be written yet', async () => {
    const { portal: p, stop } = await startPortal('postgres', { SMTP_URL: mail.url, MAIL_FROM: 'Portal <portal@example.com>' });
    const locker = new pg.Client({ connectionString: p.config.database.dialect === 'postgres' ? p.config.database.url : '' });
    await locker.connect();
    try {
      const dev = await registerUser(p);
      await runJobs(p);
      await mail.waitFor(dev.email);
      // Any write to email_tokens now waits: the answer must not.
      await locker.query('begin');
      await locker.query('lock table email_tokens in access exclusive mode');
      const forgot = (email: string) =>
        Promise.race([
          p.app.inject({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } }),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000)),
        ]);
      const known = await forgot(dev.email);
      const unknown = await forgot('nobody-at-all@example.com');
      expect(known?.statusCode).toBe(202);
      expect(unknown?.statusCode).toBe(202);
      expect(known?.body).toBe(unknown?.body);
      await locker.query('rollback');
      // Once the table is free, the reset job writes the token and the link goes out.
      await runJobs(p);
      expect(tokenIn(await mail.waitFor(dev.email, 2), 'mpr_')).toMatch(/^mpr_/);
    } finally {
      await locker.end();
      await stop();
    }
  });
});
