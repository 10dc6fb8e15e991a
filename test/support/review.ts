import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { totpCode } from '../../src/features/accounts/totp.js';
import { enableTotp, runJobs, signInAdmin, type TestAdmin, type TestClock } from './accounts.js';
import { createApp, PASSWORD, registerUser, type TestUser } from './api.js';
import { makePackage, registerSigningKey, type DeveloperKey } from './packages.js';
import type { TestPortal } from './portal.js';

/** A reviewer: registered, given the role by an admin, TOTP on, signed in with a code. */
export async function signInReviewer(p: TestPortal, clock: TestClock, admin: TestAdmin, name: string): Promise<TestUser> {
  const user = await registerUser(p, name);
  const promote = await p.app.inject({ method: 'PATCH', url: `/v1/admin/users/${user.id}`, headers: admin.auth, payload: { role: 'reviewer' } });
  expect(promote.statusCode, promote.body).toBe(200);
  const { secret } = await enableTotp(p, user, clock);
  clock.advance(30_000);
  const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: PASSWORD, totp_code: totpCode(secret, clock.now()) } });
  expect(login.statusCode, login.body).toBe(200);
  const { access_token } = login.json<{ access_token: string }>();
  return { ...user, accessToken: access_token, auth: { authorization: `Bearer ${access_token}` } };
}

export interface Uploaded {
  id: string;
  file: Buffer;
}

/** Uploads a signed package of the sample app and runs its checks: the version waits for review. */
export async function upload(p: TestPortal, dev: TestUser, app: { id: string; package_id: string }, key: DeveloperKey, versionCode: number, permissions: string[] = []): Promise<Uploaded> {
  const file = await readFile(await makePackage({ id: app.package_id, versionCode, key, manifest: { permissions } }));
  const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: file });
  expect(res.statusCode, res.body).toBe(202);
  const version = res.json<{ id: string; status: string }>();
  expect(version.status).toBe('processing');
  // The checks run as a job: run it, as the portal's worker would.
  await runJobs(p);
  expect((await versionRow(p, version.id)).status).toBe('pending_review');
  return { id: version.id, file };
}

export async function versionRow(p: TestPortal, id: string) {
  return p.database.db.selectFrom('versions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}


/** Approves a waiting version as the reviewer. */
export async function approve(p: TestPortal, reviewer: TestUser, versionId: string): Promise<void> {
  const res = await p.app.inject({ method: 'POST', url: `/v1/review/${versionId}/decision`, headers: reviewer.auth, payload: { decision: 'approve' } });
  expect(res.statusCode, res.body).toBe(200);
}

/**
 * The cast of review and release tests: an admin, a developer with a signing key and an app
 * (com.example.notes), and the named reviewers (2FA on, signed in).
 */
export async function reviewWorld<const Names extends readonly string[]>(p: TestPortal, clock: TestClock, reviewerNames: Names) {
  const admin = await signInAdmin(p, clock);
  const dev = await registerUser(p, 'Dana Developer');
  const key = await registerSigningKey(p, dev);
  const app = await createApp(p, dev, 'com.example.notes');
  const reviewers: TestUser[] = [];
  for (const name of reviewerNames) reviewers.push(await signInReviewer(p, clock, admin, name));
  return { admin, dev, key, app, reviewers };
}
