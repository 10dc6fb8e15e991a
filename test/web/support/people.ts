import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { openDatabase } from '../../../src/db/index.js';
import { createAdminAccount } from '../../../src/features/accounts/index.js';
import { totpCode } from '../../../src/features/accounts/totp.js';
import { systemClock, systemIds } from '../../../src/shared/index.js';
import type { WebPortal } from './portal.js';

/**
 * The people of a browser test, made through a running portal's API as scripts make them: a
 * developer, an admin (made as `mosis-portal create-admin` makes one, with 2FA on and a session
 * signed in with a code) and reviewers (given the role by that admin, 2FA on). Shared by the
 * store/review and journey tests.
 */

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** A raw body (a package, an image), sent as `type`. */
  raw?: Buffer;
  type?: string;
  /** The status expected; by default any 2xx. */
  status?: number;
}

export type Call = <T = Record<string, unknown>>(method: string, path: string, options?: CallOptions) => Promise<T>;

/** A call to the portal's API as a script makes it; fails the test on an unexpected status, with the answer. */
export function apiOf(portal: WebPortal): Call {
  return async <T,>(method: string, path: string, options: CallOptions = {}): Promise<T> => {
    const headers: Record<string, string> = {};
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.raw) headers['content-type'] = options.type ?? 'application/octet-stream';
    else if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${portal.baseUrl}${path}`, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) });
    const text = await res.text();
    if (options.status === undefined) expect(res.ok, `${method} ${path}: ${res.status} ${text}`).toBe(true);
    else expect(res.status, `${method} ${path}: ${text}`).toBe(options.status);
    return (text ? JSON.parse(text) : {}) as T;
  };
}

/** Polls until `probe` answers something truthy; fails with `what` (and the portal's log) after the timeout. */
export async function until<T>(portal: WebPortal, what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${portal.server.output().slice(-4000)}`);
    await sleep(100);
  }
}

export interface Person {
  id: string;
  email: string;
  password: string;
  name: string;
  token: string;
}

/** Registers an account and signs it in through the API. */
export async function registerPerson(call: Call, person: { email: string; password: string; name: string }): Promise<Person> {
  await call('POST', '/v1/auth/register', { body: person, status: 202 });
  const session = await call<{ access_token: string; user: { id: string } }>('POST', '/v1/auth/login', { body: { email: person.email, password: person.password } });
  return { ...person, id: session.user.id, token: session.access_token };
}

/** Turns on two-factor authentication for a signed-in person; answers the TOTP secret. */
export async function enableTwoFactor(call: Call, person: { token: string; password: string }): Promise<string> {
  const { secret } = await call<{ secret: string }>('POST', '/v1/auth/2fa/setup', { token: person.token });
  await call('POST', '/v1/auth/2fa/enable', { token: person.token, body: { code: totpCode(secret, new Date()), password: person.password } });
  return secret;
}

/**
 * The next time step's code: the current one was spent turning 2FA on, and the portal takes a
 * step once. It is valid now (one step of skew is allowed) and for the next 30 to 60 seconds.
 */
export function nextTotpCode(secret: string): string {
  return totpCode(secret, new Date(Date.now() + 30_000));
}

/** An admin account (the create-admin verb's code path on the portal's database), 2FA on, signed in with a code. */
export async function createAdmin(portal: WebPortal, call: Call, admin = { email: 'root@example.com', password: 'the admin passphrase for tests', name: 'Root' }): Promise<Person> {
  const database = openDatabase(loadConfig({ DATA_DIR: portal.dataDir, DATABASE_URL: portal.databaseUrl }).database);
  let id: string;
  try {
    const created = await createAdminAccount({ db: database.db, clock: systemClock, ids: systemIds(systemClock) }, { email: admin.email, password: admin.password });
    id = created.userId;
  } finally {
    await database.close();
  }
  const first = await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: admin.email, password: admin.password } });
  const secret = await enableTwoFactor(call, { token: first.access_token, password: admin.password });
  const session = await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: admin.email, password: admin.password, totp_code: nextTotpCode(secret) } });
  return { ...admin, id, token: session.access_token };
}

/**
 * A reviewer: registered, given the role by the admin, 2FA on. Answers the TOTP secret: the
 * browser signs in with nextTotpCode(secret) (no API session takes that step first).
 */
export async function createReviewer(call: Call, admin: Person, reviewer: { email: string; password: string; name: string }): Promise<Person & { totpSecret: string }> {
  const person = await registerPerson(call, reviewer);
  await call('PATCH', `/v1/admin/users/${person.id}`, { token: admin.token, body: { role: 'reviewer' } });
  const totpSecret = await enableTwoFactor(call, person);
  return { ...person, totpSecret };
}
