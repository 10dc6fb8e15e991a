import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { createAdminAccount } from '../../src/features/accounts/index.js';
import { systemClock, systemIds } from '../../src/shared/index.js';
import { png } from '../support/images.js';
import { makePackage, newDeveloperKey } from '../support/packages.js';
import type { ServerProcess } from '../support/server-process.js';
import { expectNoSeriousA11yViolations, launchBrowser, screenshot, type TestBrowser } from './support/browser.js';
import { waitForMail } from './support/outbox.js';
import { startWebPortal, type WebPortal } from './support/portal.js';
import { apiOf, type Call, until as untilTruthy } from './support/people.js';

// The developer's app and version pages in real Chromium against a real portal process: a
// developer creates an app and its listing through the pages, uploads a package (checked first,
// findings by tier), submits it, sees the review decision arrive live, and rolls it out. Accounts,
// keys, packages and the reviewer's decision are made through the API, as scripts make them.

const DEV = { email: 'dana@example.com', password: 'a long and unusual passphrase', name: 'Dana' };
const ADMIN = { email: 'root@example.com', password: 'the admin passphrase for tests', name: 'Rita Reviewer' };
const PACKAGE_ID = 'com.example.notes';

let portal: WebPortal;
let browser: TestBrowser;
let devToken = '';
let adminToken = '';
let goodPackage: Buffer;
let badPackage: Buffer;
/** An app with a failed upload and an app with none: what the dashboard's attention list is for. */
let todoAppId = '';

const logOf = (server: ServerProcess) => server.output().slice(-4000);

/** A call to the portal's API as a script makes it; fails the test on an unexpected status. */
const call: Call = (method, path, options) => apiOf(portal)(method, path, options);

const until = <T,>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T> => untilTruthy(portal, what, probe, timeoutMs);

/** The portal's own database, for the one thing no API does: an admin account (what `mosis-portal create-admin` makes). */
async function createAdmin(): Promise<void> {
  const database = openDatabase(loadConfig({ DATA_DIR: portal.dataDir, DATABASE_URL: portal.databaseUrl }).database);
  try {
    await createAdminAccount({ db: database.db, clock: systemClock, ids: systemIds(systemClock) }, { email: ADMIN.email, password: ADMIN.password });
    await database.db.updateTable('users').set({ name: ADMIN.name }).where('email', '=', ADMIN.email).execute();
  } finally {
    await database.close();
  }
}

/**
 * axe, then a screenshot for the docs: once per page of the app. Other states of a page (a field
 * error, an empty list, a version before it is live) are checked neither by axe nor pictured, but
 * dialogs and the upload's submitted step (distinct parts of the UI) get axe; the dark theme once.
 */
async function check(page: Page, name: string): Promise<void> {
  await expectNoSeriousA11yViolations(page, name);
  await screenshot(page, name);
}

/** expect.poll with room for a busy machine (its default gives up after one second). */
const eventually = <T>(probe: () => T | Promise<T>) => expect.poll(probe, { timeout: 15_000 });

const file = (name: string, buffer: Buffer, mimeType: string) => ({ name, buffer, mimeType });

beforeAll(async () => {
  // Reviewers without 2FA here, so the script's admin decides without a code (the 2FA rules have their own tests).
  [portal, browser] = await Promise.all([startWebPortal({ REQUIRE_2FA_ROLES: 'none' }), launchBrowser()]);
  const key = newDeveloperKey();
  const [good, bad] = await Promise.all([
    // Passes, with a tier-3 warning; 400 KB of incompressible asset, so the upload takes long enough to watch its progress.
    makePackage({ id: PACKAGE_ID, versionCode: 1, key, files: { 'scripts/env.lua': 'local home = os.getenv("HOME")\nreturn home\n', 'assets/texture.bin': Buffer.concat([Buffer.alloc(16), randomBytes(400 * 1024)]) } }),
    // Fails: a Lua file that does not parse (tier 2).
    makePackage({ id: PACKAGE_ID, versionCode: 1, key, files: { 'scripts/broken.lua': 'local x = \n' } }),
  ]);
  [goodPackage, badPackage] = await Promise.all([readFile(good), readFile(bad)]);

  // A developer, registered and verified from the mail, with a signing key.
  await call('POST', '/v1/auth/register', { body: DEV, status: 202 });
  const mail = await waitForMail(portal.dataDir, DEV.email, (m) => m.text.includes('/verify-email?token='));
  const token = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  await call('POST', '/v1/auth/verify-email', { body: { token }, status: 200 });
  devToken = (await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: DEV.email, password: DEV.password } })).access_token;
  await call('POST', '/v1/signing-keys', { token: devToken, body: { name: 'laptop', public_key: key.publicKeyBase64 }, status: 201 });
  await createAdmin();
  adminToken = (await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: ADMIN.email, password: ADMIN.password } })).access_token;

  // Signed in in the browser as the developer.
  const { page } = browser;
  await page.goto(`${portal.baseUrl}/sign-in?return_to=%2Fapps`);
  await page.getByLabel('Email').fill(DEV.email);
  await page.getByLabel('Password').fill(DEV.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${portal.baseUrl}/apps`);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe('the web UI: apps and versions', () => {
  it('creates an app, edits its listing with an icon and a screenshot, uploads, checks, submits and rolls out a version', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    // A new app: the API's field error under the package id, then created.
    await page.getByRole('heading', { level: 2, name: 'No apps yet' }).waitFor();
    await page.getByRole('link', { name: 'New app' }).click();
    await page.getByRole('heading', { level: 1, name: 'New app' }).waitFor();
    const packageId = page.getByLabel('Package id');
    await packageId.fill('Notes');
    await page.getByLabel('Name').fill('Notes');
    await page.getByRole('button', { name: 'Create app' }).click();
    await eventually(() => packageId.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.field-invalid .field-error').first().textContent()).toContain('Must be reverse-domain');
    await check(page, 'app-new-field-error');
    await packageId.fill(PACKAGE_ID);
    await page.getByLabel('Summary').fill('Quick notes that sync');
    await page.getByLabel('Category').fill('productivity');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('heading', { level: 1, name: 'Notes' }).waitFor();
    const appId = /\/apps\/([^/]+)$/.exec(page.url())?.[1] ?? '';
    expect(appId).not.toBe('');
    await page.getByText('No version yet.').waitFor();

    // The listing: the default text, a translation added and another added and deleted.
    await page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name: 'Store listing' }).click();
    await page.getByRole('heading', { level: 1, name: 'Store listing' }).waitFor();
    await page.getByLabel('Description').fill('Write things down.\nThey sync to every device.');
    await page.getByRole('button', { name: 'Save default listing' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const languages = page.getByRole('navigation', { name: 'Languages' });
    for (const [locale, name] of [
      ['de', 'Notizen'],
      ['fr', 'Notes en français'],
    ] as const) {
      await languages.getByRole('button', { name: '+ Add a language' }).click();
      await page.getByLabel('Language', { exact: true }).fill(locale);
      await page.getByLabel('Name').fill(name);
      await page.getByRole('button', { name: 'Add language' }).click();
      await languages.locator('[aria-current="true"]', { hasText: `(${locale})` }).waitFor();
    }
    // A locale the API refuses: its message under the field.
    await languages.getByRole('button', { name: '+ Add a language' }).click();
    await page.getByLabel('Language', { exact: true }).fill('not a locale');
    await page.getByLabel('Name').fill('Nope');
    await page.getByRole('button', { name: 'Add language' }).click();
    await eventually(() => page.getByLabel('Language', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await languages.getByRole('button', { name: /\(fr\)$/ }).click();
    await page.getByRole('button', { name: /^Delete .*\(fr\)$/ }).click();
    const deleteLocale = page.getByRole('dialog', { name: /Delete the .*\(fr\) listing\?/ });
    await deleteLocale.getByRole('button', { name: 'Delete listing' }).click();
    await eventually(() => languages.getByRole('button').allTextContents()).toEqual(['Default', expect.stringContaining('(de)'), '+ Add a language']);

    // The icon: a preview before uploading, the portal's rule broken (not square) and said under the field, then a good one.
    const chooseIcon = page.getByLabel('Choose an icon');
    await chooseIcon.setInputFiles(file('wide.png', await png(300, 200), 'image/png'));
    await page.getByRole('img', { name: 'Preview of the chosen icon' }).waitFor();
    await page.getByText('an icon must be square').waitFor();
    await page.getByRole('button', { name: 'Upload icon' }).click();
    await eventually(() => chooseIcon.getAttribute('aria-invalid')).toBe('true');
    await chooseIcon.setInputFiles(file('icon.png', await png(256, 256, { r: 40, g: 90, b: 200 }), 'image/png'));
    await page.getByText('icon.png', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Upload icon' }).click();
    await page.getByRole('img', { name: 'The current icon of Notes' }).waitFor();

    // A screenshot, previewed then uploaded.
    await page.getByLabel('Add a screenshot').setInputFiles(file('editor.png', await png(720, 1280, { r: 240, g: 240, b: 235 }), 'image/png'));
    await page.getByRole('img', { name: 'Preview of the chosen screenshot' }).waitFor();
    await page.getByText('editor.png, ').waitFor();
    await page.getByRole('button', { name: 'Upload screenshot' }).click();
    await page.getByRole('img', { name: 'Screenshot 1 of Notes' }).waitFor();
    await page.getByText('1 of 8').waitFor();
    await check(page, 'app-listing');
    const listed = await call<{ icon_url: string | null; screenshots: unknown[]; description: string }>('GET', `/v1/apps/${appId}`, { token: devToken });
    expect(listed).toMatchObject({ icon_url: expect.stringMatching(/^\/v1\/media\//), description: 'Write things down.\nThey sync to every device.' });
    expect(listed.screenshots).toHaveLength(1);
    expect((await call<{ items: { locale: string; name: string }[] }>('GET', `/v1/apps/${appId}/listings`, { token: devToken })).items).toEqual([expect.objectContaining({ locale: 'de', name: 'Notizen' })]);

    // Versions: none yet.
    await page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name: 'Versions' }).click();
    await page.getByRole('heading', { level: 2, name: 'No versions yet' }).waitFor();

    // The upload page: a broken package is checked (nothing stored) and its findings shown by tier, with their fix.
    await page.getByRole('link', { name: 'Upload a version' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Upload a version' }).waitFor();
    const packageFile = page.getByLabel('Package file (.mosis)');
    await packageFile.setInputFiles(file('notes.mosis', badPackage, 'application/octet-stream'));
    await page.getByRole('button', { name: 'Check the package' }).click();
    await page.getByRole('heading', { level: 2, name: 'The package failed its checks' }).waitFor();
    const tier2 = page.getByRole('region', { name: 'Tier 2: content' });
    await tier2.getByText('lua_syntax_error').waitFor();
    await tier2.getByText('Fix the syntax at the given line').waitFor();
    expect(await page.getByRole('button', { name: 'Submit for review' }).count()).toBe(0);

    // The good package, uploaded slowly enough to watch the progress bar, passes with a tier-3 warning.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 400 * 1024 });
    await packageFile.setInputFiles(file('notes.mosis', goodPackage, 'application/octet-stream'));
    await page.getByRole('button', { name: 'Check the package' }).click();
    const progress = page.getByRole('progressbar', { name: 'Uploading for the check' });
    await progress.waitFor();
    await page.getByRole('heading', { level: 2, name: 'The package passed its checks' }).waitFor();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
    const tier3 = page.getByRole('region', { name: 'Tier 3: security analysis' });
    await tier3.getByText('lua_sandbox_escape').waitFor();
    await tier3.getByText('Use the Mosis APIs instead').waitFor();
    expect(await call<{ items: unknown[] }>('GET', `/v1/apps/${appId}/versions`, { token: devToken })).toMatchObject({ items: [] });
    await check(page, 'version-upload-checked');

    // Submitted: the status follows the live stream, from the checks to the reviewer's approval, without a reload.
    await page.getByLabel('Release notes').fill('First release.');
    await page.getByRole('button', { name: 'Submit for review' }).click();
    await page.getByRole('heading', { level: 2, name: 'Submitted' }).waitFor();
    const status = page.locator('.dev-submitted-status');
    await status.getByText('Waiting for review').waitFor();
    const [version] = (await call<{ items: { id: string; status: string; release_notes: string | null }[] }>('GET', `/v1/apps/${appId}/versions`, { token: devToken })).items;
    expect(version).toMatchObject({ status: 'pending_review', release_notes: 'First release.' });
    const versionId = version?.id ?? '';
    await expectNoSeriousA11yViolations(page, 'version-upload-submitted');
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await call('POST', `/v1/review/${versionId}/decision`, { token: adminToken, body: { decision: 'approve', notes: 'Looks good; the env read is fine.' } });
    await status.getByText('Approved').waitFor();
    await page.getByRole('status').filter({ hasText: 'Approved by a reviewer.' }).waitFor();
    expect(navigations).toEqual([]);

    // The version: timeline, review, findings; then published at 10 %, raised to 100 %, halted and resumed.
    await page.getByRole('link', { name: 'Open the version' }).click();
    await page.waitForURL(`${baseUrl}/apps/${appId}/versions/${versionId}`);
    await page.getByRole('heading', { level: 1, name: 'Version 1.0.1' }).waitFor();
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline.getByText('Approved').waitFor();
    // The notes were set right after the upload: before or after the checks finished.
    expect((await timeline.locator('.dev-timeline-title').allTextContents()).sort()).toEqual(
      ['Uploaded by you', 'Passed its checks: waiting for review by the portal', `Approved by ${ADMIN.name}`, 'Release notes edited by you'].sort(),
    );
    await page.getByRole('region', { name: 'Review' }).getByText('Looks good; the env read is fine.').waitFor();
    await page.getByRole('region', { name: 'Checks' }).getByText('lua_sandbox_escape').waitFor();

    const release = page.getByRole('region', { name: 'Release' });
    await release.getByLabel('Rollout (% of devices)').fill('10');
    await release.getByRole('button', { name: 'Publish' }).click();
    const publish = page.getByRole('dialog', { name: 'Publish 1.0.1?' });
    await publish.getByText('10 % of devices on the stable channel').waitFor();
    await expectNoSeriousA11yViolations(page, 'version-publish-confirm');
    await publish.getByRole('button', { name: 'Publish' }).click();
    await release.getByText('Live on stable to 10 % of devices').waitFor();

    await release.getByLabel('Roll out to (% of devices)').fill('100');
    await release.getByRole('button', { name: 'Raise rollout' }).click();
    await page.getByRole('dialog', { name: 'Raise the rollout to 100 %?' }).getByRole('button', { name: 'Raise rollout' }).click();
    await release.getByText('Live on stable to 100 % of devices').waitFor();

    await release.getByRole('button', { name: 'Halt rollout' }).click();
    const halt = page.getByRole('dialog', { name: 'Halt the rollout?' });
    await halt.getByLabel('Why (optional)').fill('Sync loses notes on old devices.');
    await halt.getByRole('button', { name: 'Halt rollout' }).click();
    await eventually(() => halt.isVisible()).toBe(false);
    // The paragraph: the closed dialog's text area, inside the region, still holds the same words.
    await release.locator('p', { hasText: 'Sync loses notes on old devices.' }).waitFor();
    expect(await release.getByRole('button', { name: 'Halt rollout' }).isDisabled()).toBe(true);

    await release.getByRole('button', { name: 'Resume rollout' }).click();
    await page.getByRole('dialog', { name: 'Resume the rollout?' }).getByRole('button', { name: 'Resume rollout' }).click();
    await eventually(() => release.getByRole('button', { name: 'Resume rollout' }).isDisabled()).toBe(true);
    expect(await release.getByText('Rollout halted').count()).toBe(0);

    // A yank without a reason: the API's message under the reason, in the dialog; then cancelled.
    await release.getByRole('button', { name: 'Yank version' }).click();
    const yank = page.getByRole('dialog', { name: 'Yank 1.0.1?' });
    await yank.getByRole('button', { name: 'Yank version' }).click();
    await eventually(() => yank.getByLabel('Reason').getAttribute('aria-invalid')).toBe('true');
    await expectNoSeriousA11yViolations(page, 'version-yank-refused');
    await page.keyboard.press('Escape');
    await eventually(() => yank.isVisible()).toBe(false);

    await eventually(async () => (await timeline.locator('.dev-timeline-title strong').allTextContents()).filter((title) => title !== 'Release notes edited'))
      .toEqual([
        'Uploaded',
        'Passed its checks: waiting for review',
        'Approved',
        'Published on stable to 10 % of devices',
        'Rollout raised to 100 %',
        'Rollout halted',
        'Rollout resumed at 100 %',
      ]);
    expect(await call('GET', `/v1/apps/${appId}/versions/${versionId}`, { token: devToken })).toMatchObject({ status: 'published', rollout_percent: 100, rollout: { halted: false } });
    await check(page, 'version-live');

    // The same page in the dark theme (colour contrast differs by theme): the developer's richest page.
    await page.getByLabel('Theme').selectOption('dark');
    await expectNoSeriousA11yViolations(page, 'version-live-dark');
    await page.getByLabel('Theme').selectOption('system');

    // The versions list.
    await page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name: 'Versions' }).click();
    await page.getByRole('heading', { level: 1, name: 'Versions' }).waitFor();
    const row = page.getByRole('row', { name: /1\.0\.1/ });
    await row.getByText('Published').waitFor();
    await row.getByText('stable · 100 %').waitFor();
    await check(page, 'versions');
    await page.getByLabel('Show').selectOption('failed');
    await page.getByRole('heading', { level: 2, name: 'No version with the status “Failed checks”' }).waitFor();

    // Two more apps through the API: one whose upload fails its checks, one with nothing uploaded.
    todoAppId = (await call<{ id: string }>('POST', '/v1/apps', { token: devToken, body: { package_id: 'com.example.todo', name: 'Todo' }, status: 201 })).id;
    await call('POST', '/v1/apps', { token: devToken, body: { package_id: 'com.example.empty', name: 'Empty' }, status: 201 });
    const todoPackage = await readFile(await makePackage({ id: 'com.example.todo', versionCode: 1, key: newDeveloperKey() }));
    const failed = await call<{ id: string }>('POST', `/v1/apps/${todoAppId}/versions`, { token: devToken, raw: todoPackage, status: 202 });
    await until('the Todo upload to fail its checks', async () => (await call<{ status: string }>('GET', `/v1/apps/${todoAppId}/versions/${failed.id}`, { token: devToken })).status === 'failed');

    // The dashboard: every app with its newest version and figures, and what needs attention.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My apps' }).click();
    await page.getByRole('heading', { level: 1, name: 'My apps' }).waitFor();
    const notesRow = page.getByRole('row', { name: /Notes/ });
    await notesRow.getByRole('link', { name: '1.0.1' }).waitFor();
    await notesRow.getByText('No sessions').waitFor();
    expect(await notesRow.locator('td').nth(2).textContent()).toBe('0');
    const attention = page.getByRole('region', { name: 'Needs your attention' });
    await attention.getByText('Version 1.0.1 (code 1) failed its checks').waitFor();
    await attention.getByText('No version uploaded yet').waitFor();
    await check(page, 'apps-dashboard');

    // The overview: release settings with the API's field error, then saved.
    await notesRow.getByRole('link', { name: /Notes/ }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Notes' }).waitFor();
    await page.getByText('1.0.1', { exact: true }).first().waitFor();
    const minSessions = page.getByLabel('Once it has sessions');
    await minSessions.fill('5');
    await page.getByRole('button', { name: 'Save release settings' }).click();
    await eventually(() => minSessions.getAttribute('aria-invalid')).toBe('true');
    await minSessions.fill('500');
    await page.getByRole('button', { name: 'Save release settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect(await page.getByRole('button', { name: 'Delete app' }).isDisabled()).toBe(true);
    await check(page, 'app-overview');
    expect((await call<{ crash_guard: { min_sessions: number } }>('GET', `/v1/apps/${appId}`, { token: devToken })).crash_guard.min_sessions).toBe(500);

    // An app that never published can be deleted, behind a confirmation.
    await page.goto(`${baseUrl}/apps/${todoAppId}`);
    await page.getByRole('heading', { level: 1, name: 'Todo' }).waitFor();
    await page.getByRole('button', { name: 'Delete app' }).click();
    await page.getByRole('dialog', { name: 'Delete Todo?' }).getByRole('button', { name: 'Delete app' }).click();
    await page.waitForURL(`${baseUrl}/apps`);
    await eventually(() => page.getByRole('row', { name: /Todo/ }).count()).toBe(0);

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 120_000);
});
