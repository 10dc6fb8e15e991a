import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { expect } from 'vitest';
import { createAdminAccount } from '../../src/features/accounts/index.js';
import { totpCode } from '../../src/features/accounts/totp.js';
import { systemIds, type Clock } from '../../src/shared/index.js';
import { PASSWORD, type TestUser } from './api.js';
import type { TestPortal } from './portal.js';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  private t: number;
  constructor(start = Date.parse('2026-11-27T12:00:00.000Z')) {
    this.t = start;
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface ReceivedMail {
  to: string[];
  raw: string;
}

/**
 * A real SMTP server on 127.0.0.1 that keeps every message it receives; `refuse(n)` makes it turn
 * the next n recipients away with a temporary failure (451), as a busy mail server does.
 */
export async function startMailServer(): Promise<{
  url: string;
  messages: ReceivedMail[];
  waitFor(to: string, count?: number): Promise<ReceivedMail>;
  refuse(count: number): void;
  close(): Promise<void>;
}> {
  const messages: ReceivedMail[] = [];
  let refusals = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (refusals <= 0) return callback();
      refusals -= 1;
      callback(Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, count = 1) {
      for (let i = 0; i < 200; i++) {
        const found = messages.filter((m) => m.to.includes(to));
        if (found.length >= count) return found[count - 1] as ReceivedMail;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no mail #${count} to ${to} arrived`);
    },
    refuse: (count) => {
      refusals = count;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Runs the portal's job worker until no job is due: queued mail goes out (a reset request's job
 * first enqueues its mail, which the next pass sends). Answers how many jobs ran.
 */
export async function runJobs(portal: Pick<TestPortal, 'jobWorker'>): Promise<number> {
  const worker = portal.jobWorker;
  if (!worker) throw new Error('this portal runs no job worker (JOBS_ENABLED=false)');
  let total = 0;
  for (let ran = await worker.runOnce(); ran > 0; ran = await worker.runOnce()) total += ran;
  return total;
}

/** The token with the given prefix in a mail (quoted-printable soft breaks undone first). */
export function tokenIn(mail: ReceivedMail, prefix: string): string {
  const body = mail.raw.replace(/=\r?\n/g, '');
  const match = new RegExp(`${prefix}[A-Za-z0-9_-]{20,}`).exec(body);
  if (!match) throw new Error(`no ${prefix} token in the mail`);
  return match[0];
}

export interface TestAdmin extends TestUser {
  password: string;
  totpSecret: string;
}

/**
 * Turns on TOTP for a signed-in user (re-authenticating with the password, PASSWORD unless given);
 * returns the secret and the recovery codes.
 */
export async function enableTotp(
  portal: TestPortal,
  user: { auth: Record<string, string> },
  clock: Clock,
  password: string = PASSWORD,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const setup = await portal.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers: user.auth });
  expect(setup.statusCode, setup.body).toBe(200);
  const secret = setup.json<{ secret: string }>().secret;
  const enable = await portal.app.inject({ method: 'POST', url: '/v1/auth/2fa/enable', headers: user.auth, payload: { code: totpCode(secret, clock.now()), password } });
  expect(enable.statusCode, enable.body).toBe(200);
  return { secret, recoveryCodes: enable.json<{ recovery_codes: string[] }>().recovery_codes };
}

/**
 * An admin made with the create-admin code path, signed in with TOTP on (required for admins).
 * Moves the clock one TOTP step so the sign-in code is newer than the enrolment code.
 */
export async function signInAdmin(portal: TestPortal, clock: TestClock, email = 'root@example.com'): Promise<TestAdmin> {
  const password = 'admin password for tests';
  const created = await createAdminAccount({ db: portal.database.db, clock, ids: systemIds(clock) }, { email, password });
  const login = async (totp?: string) => {
    const res = await portal.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...(totp ? { totp_code: totp } : {}) } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ access_token: string; refresh_token: string }>();
  };
  const first = await login();
  const { secret } = await enableTotp(portal, { auth: { authorization: `Bearer ${first.access_token}` } }, clock, password);
  clock.advance(30_000);
  const session = await login(totpCode(secret, clock.now()));
  return {
    id: created.userId,
    email,
    password,
    totpSecret: secret,
    accessToken: session.access_token,
    refreshToken: session.refresh_token,
    auth: { authorization: `Bearer ${session.access_token}` },
  };
}
