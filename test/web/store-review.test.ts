import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { png } from '../support/images.js';
import { makePackage, newDeveloperKey, type DeveloperKey } from '../support/packages.js';
import type { ServerProcess } from '../support/server-process.js';
import { expectNoSeriousA11yViolations, launchBrowser, screenshot, type TestBrowser } from './support/browser.js';
import { apiOf, createAdmin, createReviewer, nextTotpCode, registerPerson, until, type Call, type Person } from './support/people.js';
import { startWebPortal, type WebPortal } from './support/portal.js';

// The store as people see it and the reviewers' pages, in real Chromium against a real portal
// process: apps, listings, images and versions made through the API as developers and reviewers
// make them; the pages driven as a person does, with axe once on each page and dialog (the app's
// page also on a phone in the dark theme) and a screenshot of the main ones. Other states of a page
// (a search, a category, an unknown app, a refused rejection, an empty queue) are not checked
// again: they are the same page's parts with other data.

const NOTES = 'com.example.fieldnotes';
const WEATHER = 'com.example.trailweather';
const REVIEWER = { email: 'rita@example.com', password: 'a long and unusual passphrase', name: 'Rita Reviewer' };

let portal: WebPortal;
let browser: TestBrowser;
let call: Call;
let dev: Person;
let admin: Person;
let reviewer: Person & { totpSecret: string };
let notesAppId = '';
let pendingVersionId = '';

const logOf = (server: ServerProcess) => server.output().slice(-4000);

/** Uploads a signed package of the sample app and waits for its checks: answers the version id. */
async function upload(appId: string, packageId: string, key: DeveloperKey, versionCode: number, permissions: string[]): Promise<string> {
  const file = await readFile(await makePackage({ id: packageId, versionCode, key, manifest: { permissions } }));
  const { id } = await call<{ id: string }>('POST', `/v1/apps/${appId}/versions`, { token: dev.token, raw: file, status: 202 });
  await until(portal, `version ${versionCode} of ${packageId} to pass its checks`, async () => (await call<{ status: string }>('GET', `/v1/apps/${appId}/versions/${id}`, { token: dev.token })).status === 'pending_review');
  return id;
}

/** Approved (by the admin, who may review) and published to everyone. */
async function release(appId: string, versionId: string): Promise<void> {
  await call('POST', `/v1/review/${versionId}/decision`, { token: admin.token, body: { decision: 'approve' } });
  await call('POST', `/v1/apps/${appId}/versions/${versionId}/publish`, { token: dev.token, body: { channel: 'stable', rollout_percent: 100 } });
}

beforeAll(async () => {
  [portal, browser] = await Promise.all([startWebPortal(), launchBrowser()]);
  call = apiOf(portal);
  [dev, admin] = await Promise.all([registerPerson(call, { email: 'dana@example.com', password: 'another long passphrase', name: 'Dana Developer' }), createAdmin(portal, call)]);
  const key = newDeveloperKey();
  const [notes, weather] = await Promise.all([
    // Field Notes: a listing in two languages, an icon, two screenshots; 1.0.1 in the store, 1.0.2 (asking for more) waiting for review.
    call<{ id: string }>('POST', '/v1/apps', {
      token: dev.token,
      status: 201,
      body: { package_id: NOTES, name: 'Field Notes', summary: 'Notes for the trail', description: 'Write notes offline, with photos and places.\n\nEverything syncs when you are back.', category: 'productivity' },
    }),
    // Trail Weather: another category, no icon.
    call<{ id: string }>('POST', '/v1/apps', { token: dev.token, status: 201, body: { package_id: WEATHER, name: 'Trail Weather', summary: 'Forecasts for the hills', category: 'tools' } }),
    call('POST', '/v1/signing-keys', { token: dev.token, body: { name: 'laptop', public_key: key.publicKeyBase64 }, status: 201 }),
  ]);
  notesAppId = notes.id;
  const listing = async () => {
    await call('PUT', `/v1/apps/${notesAppId}/listings/de`, { token: dev.token, body: { name: 'Feldnotizen', summary: 'Notizen für unterwegs', description: 'Notizen ohne Netz schreiben.' } });
    await call('POST', `/v1/apps/${notesAppId}/icon`, { token: dev.token, raw: await png(256, 256, { r: 30, g: 120, b: 90 }), type: 'image/png' });
    for (const colour of [{ r: 240, g: 200, b: 80 }, { r: 80, g: 140, b: 240 }]) {
      await call('POST', `/v1/apps/${notesAppId}/screenshots`, { token: dev.token, raw: await png(360, 640, colour), type: 'image/png', status: 201 });
    }
  };
  const versions = async () => {
    const [notesV1, weatherV1] = await Promise.all([upload(notesAppId, NOTES, key, 1, ['network']), upload(weather.id, WEATHER, key, 1, [])]);
    await Promise.all([release(notesAppId, notesV1).then(async () => (pendingVersionId = await upload(notesAppId, NOTES, key, 2, ['network', 'location', 'camera']))), release(weather.id, weatherV1)]);
  };
  // The reviewer is made (and the listing written) while the packages are checked.
  [reviewer] = await Promise.all([createReviewer(call, admin, REVIEWER), listing(), versions()]);
  // The store's read model follows the event log within a second.
  await until(portal, 'both apps in the store', async () => (await call<{ items: unknown[] }>('GET', '/v1/store/apps')).items.length === 2);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

describe('the web UI: store and review', () => {
  it('shows the store to a visitor: search, categories, and an app’s page with screenshots, permissions, versions and languages', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    // The landing page shows what is new in the store.
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { level: 2, name: 'New in the store' }).waitFor();
    await page.getByRole('link', { name: 'Field Notes' }).waitFor();
    await expectNoSeriousA11yViolations(page, 'the landing page with apps in the store');
    await screenshot(page, 'home-visitor');

    // The catalog.
    await page.getByRole('link', { name: 'Browse the store' }).click();
    await page.waitForURL(`${baseUrl}/store`);
    await page.getByRole('heading', { level: 2, name: 'All apps' }).waitFor();
    const cards = page.locator('.store-grid .store-card-link');
    await expect.poll(() => cards.allTextContents(), { timeout: 10_000 }).toEqual(expect.arrayContaining(['Field Notes', 'Trail Weather']));
    const categories = page.getByRole('navigation', { name: 'Categories' });
    await categories.getByRole('link', { name: /^Productivity/ }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: '2 apps' }).count()).toBe(1);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'store');

    // Search: the store's full-text search, each word a prefix.
    await page.getByRole('searchbox', { name: 'Search apps' }).fill('field');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(`${baseUrl}/store?q=field`);
    await page.getByRole('heading', { level: 2, name: 'Results for “field”' }).waitFor();
    await expect.poll(() => cards.allTextContents(), { timeout: 10_000 }).toEqual(['Field Notes']);
    expect(await page.getByLabel('Sort by').inputValue()).toBe('relevance');
    await page.getByRole('searchbox', { name: 'Search apps' }).fill('zzyzx');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { level: 2, name: 'No apps match your search' }).waitFor();
    await page.getByRole('button', { name: 'Show all apps' }).click();
    await page.waitForURL(`${baseUrl}/store`);

    // A category.
    await categories.getByRole('link', { name: /^Tools/ }).click();
    await page.waitForURL(`${baseUrl}/store?category=tools`);
    await page.getByRole('heading', { level: 2, name: 'Tools' }).waitFor();
    await expect.poll(() => cards.allTextContents(), { timeout: 10_000 }).toEqual(['Trail Weather']);
    expect(await categories.getByRole('link', { name: /^Tools/ }).getAttribute('aria-current')).toBe('true');

    // An app's page, from its card.
    await categories.getByRole('link', { name: 'All apps' }).click();
    await cards.filter({ hasText: 'Field Notes' }).click();
    await page.waitForURL(`${baseUrl}/store/${NOTES}`);
    await page.getByRole('heading', { level: 1, name: 'Field Notes' }).waitFor();
    await page.getByText('by Your Name').waitFor();
    const permissions = page.getByRole('region', { name: 'What it may do' });
    await permissions.getByText('Internet', { exact: true }).waitFor();
    expect(await permissions.textContent()).toContain('Sends and receives data over the internet');
    const versions = page.getByRole('region', { name: 'Versions' });
    await versions.getByRole('heading', { level: 3, name: /^1\.0\.1/ }).waitFor();
    expect(await versions.getByRole('link', { name: 'Download version 1.0.1' }).getAttribute('href')).toBe(`${baseUrl}/v1/store/packages/${NOTES}/1.mosis`);
    expect(await page.getByRole('region', { name: 'About this app' }).textContent()).toContain('Everything syncs when you are back.');
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'store-app');

    // The screenshots, by keyboard: open, next with the arrow key, close with Escape (focus returns).
    const first = page.getByRole('button', { name: 'Screenshot 1 of 2: view larger' });
    await first.focus();
    await page.keyboard.press('Enter');
    const viewer = page.getByRole('dialog', { name: 'Screenshot 1 of 2' });
    await viewer.waitFor();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('dialog', { name: 'Screenshot 2 of 2' }).getByRole('img', { name: 'Screenshot 2 of Field Notes' }).waitFor();
    await expectNoSeriousA11yViolations(page, 'the screenshot viewer');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count(), { timeout: 5_000 }).toBe(0);
    expect(await first.evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement)).toBe(true);

    // The listing in another of its languages (the browser asks for English, which it lacks: the default).
    expect(await page.getByText('Shown in the app’s default language.').count()).toBe(1);
    await page.getByLabel('Listing language').selectOption('de');
    await page.getByRole('heading', { level: 1, name: 'Feldnotizen' }).waitFor();
    await page.waitForURL(`${baseUrl}/store/${NOTES}?lang=de`);

    // A phone, in the dark theme.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByLabel('Theme').selectOption('dark');
    await page.getByRole('button', { name: 'Menu' }).click();
    await expectNoSeriousA11yViolations(page, 'an app on a phone, dark');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByLabel('Theme').selectOption('system');
    await page.setViewportSize({ width: 1280, height: 800 });

    // A package id the store does not have.
    await page.goto(`${baseUrl}/store/com.example.nothing`);
    await page.getByRole('heading', { level: 2, name: 'This app is not in the store' }).waitFor();

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 90_000);

  it('lets a reviewer with 2FA claim a version, read everything about it, refuse a rejection without notes, and approve it', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    // The mails link to /review: signing in (password, then the code) comes back to it.
    await page.goto(`${baseUrl}/review`);
    await page.waitForURL(/\/sign-in\?return_to=%2Freview$/);
    await page.getByLabel('Email').fill(REVIEWER.email);
    await page.getByLabel('Password').fill(REVIEWER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code from your authenticator app').fill(nextTotpCode(reviewer.totpSecret));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/review`);

    // The queue: the waiting version, its developer, its checks, its age, nobody's claim.
    await page.getByRole('heading', { level: 1, name: 'Review queue' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Field Notes 1.0.2' });
    await row.waitFor();
    expect(await row.textContent()).toContain('Dana Developer');
    expect(await row.textContent()).toContain('Not claimed');
    expect(await row.textContent()).toMatch(/warning/);
    await page.getByText('Updates live').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'review-queue');

    // Claimed from the queue: the review page opens, held by this reviewer.
    await row.getByRole('button', { name: 'Claim Field Notes 1.0.2' }).click();
    await page.waitForURL(`${baseUrl}/review/${pendingVersionId}`);
    await page.getByRole('heading', { level: 1, name: 'Review Field Notes 1.0.2' }).waitFor();
    await page.getByText(/You hold the claim until/).waitFor();

    // What it asks for beyond 1.0.1, with the risk; findings by tier, explained; manifest; files; earlier decisions.
    const permissions = page.getByRole('region', { name: 'Permissions' });
    expect(await permissions.textContent()).toContain('Compared with version code 1');
    const added = permissions.getByRole('listitem').filter({ hasText: 'location' }).first();
    expect(await added.textContent()).toContain('High risk');
    expect(await added.textContent()).toContain('Knows where the device is');
    const findings = page.getByRole('region', { name: 'Findings' });
    await findings.getByText('permission_unused').first().waitFor();
    expect(await findings.textContent()).toContain('How to fix');
    const manifest = page.getByRole('region', { name: 'Manifest' });
    expect(await manifest.textContent()).toContain(NOTES);
    await manifest.getByText('The whole manifest.json').click();
    expect(await manifest.getByRole('region', { name: 'manifest.json' }).or(manifest.locator('pre')).first().textContent()).toContain('"version_code": 2');
    const files = page.getByRole('region', { name: 'Files' });
    await files.getByText('manifest.json').waitFor();
    expect(await files.getByText('app.lua').isVisible()).toBe(false);
    await files.getByRole('button', { name: 'Expand all' }).click();
    await files.getByText('app.lua').waitFor({ state: 'visible' });
    const history = page.getByRole('region', { name: 'Earlier decisions on this app' });
    expect(await history.getByRole('row').filter({ hasText: '1.0.1' }).textContent()).toContain('Approved');
    expect(await page.getByRole('link', { name: /Download the package/ }).getAttribute('href')).toBe(`/v1/review/${pendingVersionId}/package`);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'review-page');

    // The claim given up, and taken again.
    await page.getByRole('button', { name: 'Release the claim' }).click();
    await page.getByText(/Nobody has claimed this version/).waitFor();
    await page.getByRole('button', { name: 'Claim', exact: true }).click();
    await page.getByText(/You hold the claim until/).waitFor();

    // A rejection without notes: the API's refusal sits under the notes field.
    await page.getByRole('button', { name: 'Reject' }).click();
    const notes = page.getByLabel('Notes for the developer');
    await expect.poll(() => notes.getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    const describedBy = (await notes.getAttribute('aria-describedby')) ?? '';
    expect(await page.locator(`[id="${describedBy.split(' ')[0]}"]`).textContent()).toContain('a rejection needs notes');

    // Approved, after confirming.
    await page.getByRole('button', { name: 'Approve' }).click();
    const confirm = page.getByRole('dialog', { name: 'Approve Field Notes 1.0.2?' });
    await confirm.waitFor();
    await expectNoSeriousA11yViolations(page, 'the approval dialog');
    await confirm.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved: Field Notes 1.0.2 is signed with the store key').waitFor();
    await page.getByText('Approved', { exact: true }).first().waitFor();
    expect((await call<{ status: string }>('GET', `/v1/apps/${notesAppId}/versions/${pendingVersionId}`, { token: dev.token })).status).toBe('approved');

    // Nothing left in the queue; the landing page has the reviewer's shortcuts.
    await page.getByRole('link', { name: 'Back to the queue' }).click();
    await page.getByRole('heading', { level: 2, name: 'The queue is empty' }).waitFor();
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { level: 1, name: 'Welcome, Rita Reviewer' }).waitFor();
    expect(await page.getByRole('link', { name: 'Review queue' }).getAttribute('href')).toBe('/review');
    // The landing page signed in is another page than a visitor's: checked once.
    await expectNoSeriousA11yViolations(page, 'the landing page for a reviewer');

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 90_000);
});
