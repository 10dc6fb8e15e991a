import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { createAdminAccount } from '../../src/features/accounts/index.js';
import { systemClock, systemIds } from '../../src/shared/index.js';
import type { ServerProcess } from '../support/server-process.js';
import { expectNoSeriousA11yViolations, launchBrowser, screenshot, type TestBrowser } from './support/browser.js';
import { startWebPortal, type WebPortal } from './support/portal.js';

// The settings pages (profile, password / two-factor / sessions, API keys, signing keys) and the
// admin pages (users, audit log, jobs) in real Chromium against a real portal process: accounts
// and data made through the API, the pages driven as a person does. axe once on each page and on
// each step or dialog that shows something no other does (two-factor setup, recovery codes, a new
// API key, revoking one, the admin's two-factor gate), the security page also on a phone in the
// dark theme; a screenshot of each main page. Field errors and empty lists are not checked again.
// Then the device sign-in page (/device) that `mosis login` sends people to, with the CLI's side
// played through the API.

const DEV = { email: 'grace@example.com', password: 'a long and unusual passphrase', name: 'Grace' };
const NEW_PASSWORD = 'another long and unusual passphrase';
const ADMIN = { email: 'root@example.com', password: 'the admin passphrase for tests' };
const ADA = { email: 'ada@example.com', password: 'a third long and unusual passphrase', name: 'Ada' };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1';

let portal: WebPortal;
let browser: TestBrowser;
let devRecoveryCodes: string[] = [];

const logOf = (server: ServerProcess) => server.output().slice(-4000);

/** The code an authenticator app shows for this secret, `steps` periods from now. */
function totp(secret: string, steps = 0): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), digits: 6, period: 30, timestamp: Date.now() + steps * 30_000 });
}

/** A call to the portal's API as a script makes it; fails the test on an unexpected status. */
async function call<T = Record<string, unknown>>(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string>; status?: number } = {}): Promise<{ body: T; res: Response }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${portal.baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(options.status ?? 200);
  return { body: (text ? JSON.parse(text) : {}) as T, res };
}

/** The portal's own database, for what no API does: an admin account (the `create-admin` verb's work), a dead job. */
async function withDatabase<T>(work: (db: ReturnType<typeof openDatabase>['db']) => Promise<T>): Promise<T> {
  const database = openDatabase(loadConfig({ DATA_DIR: portal.dataDir, DATABASE_URL: portal.databaseUrl }).database);
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

/** The text on the clipboard of the page (the copy buttons put it there). */
function clipboard(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
}

async function signIn(page: Page, email: string, password: string, code?: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (code !== undefined) {
    await page.getByLabel('Code from your authenticator app').fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
}

/** Checks the page with axe and saves its picture: once per main page. */
async function check(page: Page, name: string): Promise<void> {
  await expectNoSeriousA11yViolations(page, name);
  await screenshot(page, name);
}

beforeAll(async () => {
  [portal, browser] = await Promise.all([startWebPortal(), launchBrowser()]);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: portal.baseUrl });
  await call('POST', '/v1/auth/register', { body: DEV, status: 202 });
  const token = (await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: DEV.email, password: DEV.password } })).body.access_token;
  await call('POST', '/v1/apps', { token, body: { package_id: 'com.example.notes', name: 'Notes' }, status: 201 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe('the web UI: settings and admin', () => {
  it('a developer changes the profile and password, turns on two-factor, signs out another session, and makes keys', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    await page.goto(`${baseUrl}/settings`);
    await page.waitForURL(/\/sign-in\?return_to=%2Fsettings$/);
    await signIn(page, DEV.email, DEV.password);
    await page.waitForURL(`${baseUrl}/settings`);

    // Profile: the name, saved; the header follows.
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Settings' }).getByRole('link').allTextContents()).toEqual(['Profile', 'Password and security', 'API keys', 'Signing keys', 'Notifications']);
    await page.getByLabel('Name').fill('Grace Hopper');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Saved.').waitFor();
    await page.getByRole('button', { name: 'Grace Hopper' }).waitFor();
    expect(await page.getByText('Not verified').isVisible()).toBe(true);
    await check(page, 'settings-profile');

    // Password: a wrong current password is refused under its field; the right one signs every session out.
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Password and security' }).click();
    await page.getByRole('heading', { level: 1, name: 'Password and security' }).waitFor();
    const current = page.getByLabel('Current password');
    await current.fill('not my password at all');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => current.getAttribute('aria-invalid')).toBe('true');
    const currentError = (await current.getAttribute('aria-describedby'))?.split(' ')[0] ?? '';
    expect(await page.locator(`[id="${currentError}"]`).textContent()).toContain('The current password is wrong');
    // The API's password rules, under the new password.
    await current.fill(DEV.password);
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again').fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    const newPassword = page.getByLabel('New password', { exact: true });
    await expect.poll(() => newPassword.getAttribute('aria-invalid')).toBe('true');
    await newPassword.fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    await page.getByRole('button', { name: 'Sign in with the new password' }).click();
    await page.waitForURL(/\/sign-in\?return_to=%2Fsettings%2Fsecurity$/);
    await signIn(page, DEV.email, NEW_PASSWORD);
    await page.waitForURL(`${baseUrl}/settings/security`);

    // Two-factor: a QR code drawn here and the key as text; the code computed from that key turns it on.
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const qr = page.getByRole('img', { name: 'QR code to add your Mosis Portal account to an authenticator app' });
    await qr.waitFor();
    expect(Number(await qr.getAttribute('width'))).toBeGreaterThan(100);
    const secret = (await page.locator('code[data-secret]').textContent())?.replace(/\s+/g, '') ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByRole('button', { name: 'Copy the key' }).click();
    expect(await clipboard(page)).toBe(secret);
    await expectNoSeriousA11yViolations(page, 'settings-two-factor-setup');
    // A wrong code first: the API's refusal under the code field.
    const codeField = page.getByLabel('Code from the app');
    await codeField.fill('000000');
    await page.getByLabel('Your password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await expect.poll(() => codeField.getAttribute('aria-invalid')).toBe('true');
    await codeField.fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();

    // The recovery codes, once: copied, downloaded as a file, then confirmed saved.
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    devRecoveryCodes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    expect(devRecoveryCodes).toHaveLength(10);
    await page.getByRole('button', { name: 'Copy the codes' }).click();
    expect(await clipboard(page)).toBe(devRecoveryCodes.join('\n'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download as .txt' }).click()]);
    expect(download.suggestedFilename()).toBe('mosis-recovery-codes.txt');
    const saved = await readFile(await download.path(), 'utf8');
    for (const code of devRecoveryCodes) expect(saved).toContain(code);
    await expectNoSeriousA11yViolations(page, 'settings-recovery-codes');
    const done = page.getByRole('button', { name: 'Done', exact: true });
    expect(await done.isDisabled()).toBe(true);
    await page.getByLabel('I have saved these codes somewhere safe').check();
    await done.click();
    await page.getByText('10 recovery codes left.').waitFor();
    await page.getByRole('button', { name: 'Grace Hopper' }).click();
    await page.getByText('developer · two-factor on').waitFor();

    // Signed out, then in again with a code from the app (the next step: the enabling one is spent).
    await page.goto(`${baseUrl}/sign-out`);
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
    await page.goto(`${baseUrl}/settings/security`);
    await page.waitForURL(/\/sign-in\?return_to=%2Fsettings%2Fsecurity$/);
    await signIn(page, DEV.email, NEW_PASSWORD, totp(secret, 1));
    await page.waitForURL(`${baseUrl}/settings/security`);

    // Another session, from a phone (signed in with a recovery code): listed, then signed out from here.
    const phone = await call<{ csrf_token: string }>('POST', '/v1/auth/session', { headers: { 'user-agent': PHONE }, body: { email: DEV.email, password: NEW_PASSWORD, totp_code: devRecoveryCodes[0] } });
    const phoneCookie = /mosis_session=[^;]+/.exec(phone.res.headers.get('set-cookie') ?? '')?.[0] ?? '';
    await call('GET', '/v1/auth/me', { headers: { cookie: phoneCookie } });
    await page.reload();
    const sessions = page.getByRole('table', { name: 'Your sessions' });
    await sessions.getByText('Safari on iOS').waitFor();
    await page.getByText('9 recovery codes left.').waitFor();
    const currentRow = sessions.getByRole('row').filter({ hasText: 'This browser' });
    expect(await currentRow.textContent()).toMatch(/Chrome on Linux/);
    expect(await currentRow.textContent()).toContain('Two-factor');
    await check(page, 'settings-security');
    await sessions.getByRole('button', { name: /^Sign out Safari on iOS/ }).click();
    await page.getByText('Signed out Safari on iOS.').waitFor();
    await expect.poll(() => sessions.getByText('Safari on iOS').count()).toBe(0);
    await call('GET', '/v1/auth/me', { headers: { cookie: phoneCookie }, status: 401 });

    // The security page on a phone, in the dark theme.
    await page.getByLabel('Theme').selectOption('dark');
    await page.setViewportSize({ width: 360, height: 740 });
    await expectNoSeriousA11yViolations(page, '/settings/security on a phone, dark');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByLabel('Theme').selectOption('system');

    // API keys: none yet; the form's refusals under its fields; a key shown once, copied and used.
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 2, name: 'No API keys yet' }).waitFor();
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByRole('button', { name: 'Create key' }).click();
    const keyName = page.getByLabel('Name');
    await expect.poll(() => keyName.getAttribute('aria-invalid')).toBe('true');
    await page.locator('fieldset.field-invalid').filter({ hasText: 'Scopes' }).waitFor();
    await keyName.fill('Release CI');
    await page.getByRole('checkbox', { name: /Read apps/ }).check();
    await page.getByRole('checkbox', { name: /Upload versions/ }).check();
    await page.getByRole('radio', { name: /Only the apps I choose/ }).check();
    await page.getByRole('checkbox', { name: /Notes/ }).check();
    await expectNoSeriousA11yViolations(page, 'settings-api-key-form');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Your new API key “Release CI”' }).waitFor();
    expect(await page.getByText('you will not see it again').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Copy the key' }).click();
    const key = await clipboard(page);
    expect(key).toMatch(/^mk_live_/);
    await expectNoSeriousA11yViolations(page, 'settings-api-key-created');
    const apps = await call<{ items: { name: string }[] }>('GET', '/v1/apps', { token: key });
    expect(apps.body.items.map((app) => app.name)).toEqual(['Notes']);
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    const keyRow = page.getByRole('row').filter({ hasText: 'Release CI' });
    expect(await keyRow.textContent()).toContain('Notes');
    expect(await keyRow.textContent()).toContain('Active');
    await check(page, 'settings-api-keys');
    await keyRow.getByRole('button', { name: 'Revoke Release CI' }).click();
    const revokeDialog = page.getByRole('dialog', { name: 'Revoke “Release CI”?' });
    await revokeDialog.waitFor();
    await expectNoSeriousA11yViolations(page, 'revoking an API key');
    await revokeDialog.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('Revoked “Release CI”.', { exact: false }).waitFor();
    await keyRow.getByText('Revoked').waitFor();
    await call('GET', '/v1/apps', { token: key, status: 401 });

    // Signing keys: a private key is refused before it leaves the page; the public key file is read and registered.
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Signing keys' }).click();
    await page.getByRole('heading', { level: 2, name: 'No signing keys yet' }).waitFor();
    await page.getByRole('button', { name: 'Register a key' }).click();
    const pair = generateKeyPairSync('ed25519');
    const pem = (type: 'pkcs8' | 'spki') => Buffer.from(String(type === 'pkcs8' ? pair.privateKey.export({ format: 'pem', type }) : pair.publicKey.export({ format: 'pem', type })));
    const file = page.getByLabel('Or choose the file');
    await file.setInputFiles({ name: 'signing_key.pem', mimeType: 'application/x-pem-file', buffer: pem('pkcs8') });
    const publicKeyField = page.getByLabel('Public key');
    await expect.poll(() => publicKeyField.getAttribute('aria-invalid')).toBe('true');
    expect(await publicKeyField.inputValue()).toBe('');
    await file.setInputFiles({ name: 'signing_key.pub', mimeType: 'application/x-pem-file', buffer: pem('spki') });
    await expect.poll(() => publicKeyField.inputValue()).toContain('BEGIN PUBLIC KEY');
    await page.getByLabel('Name').fill('Laptop');
    await page.getByRole('button', { name: 'Register key' }).click();
    await page.getByText('Registered “Laptop”.', { exact: false }).waitFor();
    const signingRow = page.getByRole('row').filter({ hasText: 'Laptop' });
    expect(await signingRow.textContent()).toContain('Active');
    await check(page, 'settings-signing-keys');

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 120_000);

  it('an admin with two-factor finds users, suspends and reactivates one, filters the audit log and retries a dead job', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    await withDatabase((db) => createAdminAccount({ db, clock: systemClock, ids: systemIds(systemClock) }, ADMIN));
    await page.goto(`${baseUrl}/sign-out`);
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();

    // Without two-factor authentication the admin pages say what to do.
    await page.goto(`${baseUrl}/admin`);
    await page.waitForURL(/\/sign-in\?return_to=%2Fadmin$/);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(`${baseUrl}/admin`);
    await page.getByRole('link', { name: 'Turn on two-factor authentication' }).waitFor();
    await expectNoSeriousA11yViolations(page, 'admin-two-factor-required');

    // Turned on through the API (which signs the browser out), then signed in with the code.
    const token = (await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: ADMIN.email, password: ADMIN.password } })).body.access_token;
    const secret = (await call<{ secret: string }>('POST', '/v1/auth/2fa/setup', { token })).body.secret;
    await call('POST', '/v1/auth/2fa/enable', { token, body: { code: totp(secret), password: ADMIN.password } });
    await page.goto(`${baseUrl}/sign-in?return_to=%2Fadmin`);
    await signIn(page, ADMIN.email, ADMIN.password, totp(secret, 1));
    await page.waitForURL(`${baseUrl}/admin`);

    // Users: both accounts, with role, status and two-factor; found by part of the address.
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    const users = page.getByRole('table', { name: 'Users' });
    await users.getByText(DEV.email).waitFor();
    expect(await users.getByRole('row').filter({ hasText: ADMIN.email }).textContent()).toContain('You');
    await check(page, 'admin-users');
    await page.getByLabel('Email contains').fill('grace');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(`${baseUrl}/admin?email=grace`);
    await expect.poll(() => users.getByRole('row').count()).toBe(2);
    const devRow = users.getByRole('row').filter({ hasText: DEV.email });
    await devRow.getByText('On', { exact: true }).waitFor();

    // Suspended, confirmed: the developer's sign-in is refused; then reactivated.
    await devRow.getByRole('button', { name: `Suspend ${DEV.email}` }).click();
    const suspend = page.getByRole('dialog', { name: `Suspend ${DEV.email}?` });
    await suspend.waitFor();
    await suspend.getByRole('button', { name: 'Suspend' }).click();
    await devRow.getByText('Suspended', { exact: true }).waitFor();
    await call('POST', '/v1/auth/login', { body: { email: DEV.email, password: NEW_PASSWORD, totp_code: devRecoveryCodes[1] }, status: 403 });
    await devRow.getByRole('button', { name: `Reactivate ${DEV.email}` }).click();
    await page.getByRole('dialog', { name: `Reactivate ${DEV.email}?` }).getByRole('button', { name: 'Reactivate' }).click();
    await devRow.getByText('Active', { exact: true }).waitFor();
    await call('POST', '/v1/auth/login', { body: { email: DEV.email, password: NEW_PASSWORD, totp_code: devRecoveryCodes[1] } });

    // The audit log: filtered by action, then by the actor's address (looked up), with people by address.
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    const log = page.getByRole('table', { name: /Audit log entries/ });
    await log.getByRole('row').nth(1).waitFor();
    await check(page, 'admin-audit');
    await page.getByLabel('Action').selectOption('user.suspended');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=user.suspended/);
    await expect.poll(() => log.getByRole('row').count()).toBe(2);
    const suspended = await log.getByRole('row').nth(1).textContent();
    expect(suspended).toContain(ADMIN.email);
    expect(suspended).toContain(DEV.email);
    await page.getByLabel('Action').selectOption('');
    await page.getByLabel('Actor').fill(DEV.email);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/actor_id=/);
    await log.getByText('Two-factor turned on').waitFor();
    expect(await log.getByText('API key created').count()).toBe(1);
    expect(await log.getByText('User suspended').count()).toBe(0);
    await page.getByLabel('Actor').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No user has this email address.').waitFor();

    // Jobs: a dead mail (its error shown), retried; another discarded.
    const now = new Date().toISOString();
    const ids = systemIds(systemClock);
    const deadJob = (kind: string, error: string) => ({
      id: ids.id(),
      kind,
      key: null,
      payload: '{}',
      state: 'dead' as const,
      attempts: 3,
      max_attempts: 3,
      run_at: now,
      locked_until: null,
      locked_by: null,
      last_error: error,
      created_at: now,
      updated_at: now,
      finished_at: now,
    });
    const retried = deadJob('notifications.prune', 'Error: database is locked');
    const discarded = deadJob('store.chores', 'Error: disk full');
    await withDatabase((db) => db.insertInto('jobs').values([retried, discarded]).execute());
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    await page.getByText('Error: database is locked').waitFor();
    await page.getByText('Error: disk full').waitFor();
    await check(page, 'admin-jobs');
    await page.getByRole('button', { name: `Retry the notifications.prune job ${retried.id}` }).click();
    await page.getByText('The notifications.prune job is queued again', { exact: false }).waitFor();
    await expect.poll(() => page.getByText('Error: database is locked').count()).toBe(0);
    await page.getByRole('button', { name: `Discard the store.chores job ${discarded.id}` }).click();
    const discard = page.getByRole('dialog', { name: 'Discard this dead job?' });
    await discard.waitFor();
    await discard.getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('heading', { level: 2, name: 'No dead jobs' }).waitFor();
    expect(await withDatabase((db) => db.selectFrom('jobs').select('id').where('id', '=', discarded.id).execute())).toEqual([]);

    // The retried job ran (a worker claims it at once).
    await page.getByLabel('State', { exact: true }).selectOption('all');
    await page.getByLabel('Kind', { exact: true }).selectOption('notifications.prune');
    await page.getByRole('heading', { level: 2, name: 'All jobs of notifications.prune' }).waitFor();
    await expect
      .poll(async () => (await withDatabase((db) => db.selectFrom('jobs').select('state').where('id', '=', retried.id).executeTakeFirst()))?.state, { timeout: 15_000 })
      .toBe('done');

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 120_000);

  it('a developer approves a `mosis login` at /device after signing in, is told a wrong code is not waiting, and denies another', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    await call('POST', '/v1/auth/register', { body: ADA, status: 202 });
    type DeviceCode = { device_code: string; user_code: string; verification_uri_complete: string };
    const requestCode = async () => (await call<DeviceCode>('POST', '/v1/auth/device/code', { body: { client_name: 'mosis CLI on build-box' } })).body;
    // The CLI's poll. Never before the decision: the first poll of a code is on time, a second within 5 s is slow_down.
    const poll = (deviceCode: string, status: number) => call<Record<string, string>>('POST', '/v1/auth/device/token', { body: { grant_type: DEVICE_GRANT, device_code: deviceCode }, status });

    // The link the CLI prints, opened signed out: sign in, and back to it with the code.
    const approved = await requestCode();
    expect(approved.verification_uri_complete).toBe(`${baseUrl}/device?user_code=${approved.user_code}`);
    await page.goto(`${baseUrl}/sign-out`);
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
    await page.goto(approved.verification_uri_complete);
    await page.waitForURL(`${baseUrl}/sign-in?return_to=${encodeURIComponent(`/device?user_code=${approved.user_code}`)}`);
    await signIn(page, ADA.email, ADA.password);
    await page.waitForURL(approved.verification_uri_complete);

    // Who asks, as whom, for what (mosis login's default scopes, in words), from where.
    await page.getByRole('heading', { level: 1, name: 'Approve this sign-in?' }).waitFor();
    expect(await page.title()).toBe('Approve this sign-in? · Mosis Portal');
    const shown = await page.getByRole('main').textContent();
    expect(shown).toContain(`A client that calls itself mosis CLI on build-box asks to act as you (Ada, ${ADA.email}) with these permissions`);
    expect(await page.getByRole('list', { name: 'Permissions asked for' }).getByRole('listitem').allTextContents()).toEqual([
      'See your apps and their versions apps:read',
      'Create apps and edit their listings apps:write',
      'Upload new versions versions:upload',
      'Publish approved versions and change rollouts versions:publish',
      'Manage your API keys and signing keys keys:manage',
    ]);
    expect(shown).toContain('Requested from127.0.0.1');
    expect(shown).not.toContain('started from another address');
    expect(shown).toContain(`Code${approved.user_code}`);
    await check(page, 'device-sign-in');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Signed in. You can close this tab and return to your terminal.').waitFor();

    // The CLI's next poll gets the key, which the API keys page lists.
    const token = await poll(approved.device_code, 200);
    expect(token.body['access_token']).toMatch(/^mk_live_/);
    await page.getByRole('link', { name: 'Settings → API keys' }).click();
    await page.getByRole('row').filter({ hasText: 'mosis CLI on build-box' }).getByText('Active').waitFor();

    // A code nobody asked for, typed in: not waiting, and the form again.
    await page.goto(`${baseUrl}/device`);
    await page.getByRole('heading', { level: 1, name: 'Approve a sign-in' }).waitFor();
    const codeField = page.getByLabel('Enter the code shown in your terminal');
    await codeField.fill('bbbb-bbbb');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${baseUrl}/device?user_code=BBBB-BBBB`);
    await page.getByRole('alert').getByText('No sign-in is waiting for BBBB-BBBB').waitFor();
    expect(await codeField.inputValue()).toBe('BBBB-BBBB');

    // Another code, typed as people do (lower case, no dash), denied: the CLI hears access_denied.
    const denied = await requestCode();
    await codeField.fill(denied.user_code.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(denied.verification_uri_complete);
    await page.getByRole('heading', { level: 1, name: 'Approve this sign-in?' }).waitFor();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByText('Denied. The terminal will be told the sign-in was refused.').waitFor();
    expect((await poll(denied.device_code, 400)).body['error']).toBe('access_denied');

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 60_000);
});
