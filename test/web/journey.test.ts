import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliScratch } from '../../src/cli/test-support.js';
import { rolloutBucket } from '../../src/features/store/rollout.js';
import type { ServerProcess } from '../support/server-process.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { linkIn, waitForMail } from './support/outbox.js';
import { apiOf, createAdmin, createReviewer, nextTotpCode, type Call } from './support/people.js';
import { startWebPortal, type WebPortal } from './support/portal.js';

// The acceptance journey, in one browser against a real portal process: a developer
// registers, confirms the address from the mailed link, creates an app, registers the signing key
// `mosis keys generate` made, uploads the package `mosis build` made, reads its findings and
// submits it; a reviewer with 2FA approves it; the developer publishes it to 10 % and raises it to
// 100 %; the store API and /store then show it. Only the reviewer and admin accounts are made
// through the API (the admin as `mosis-portal create-admin` makes one).
//
// No axe and no screenshots here: every page this journey stops at (the new app form, signing
// keys, the upload and its findings, the version and its release, the review page, the store's app
// page) is checked with axe and pictured for the docs in the file of its area (developer,
// settings-admin, store-review). This file proves the journey joins up; checking those pages
// again would cost Chromium time and prove nothing more.

const PACKAGE_ID = 'com.example.journey';
const DEV = { name: 'Jo Developer', email: 'jo@example.com', password: 'a long and unusual passphrase' };
const REVIEWER = { name: 'Remy Reviewer', email: 'remy@example.com', password: 'another long and unusual passphrase' };

const { paths, mosis } = cliScratch();

let portal: WebPortal;
let browser: TestBrowser;
let call: Call;
let reviewerSecret = '';
let publicKey = '';
let packageFile = '';

const logOf = (server: ServerProcess) => server.output().slice(-4000);

/** The developer's CLI: a new app declaring a permission it does not use (a finding to read), a key pair, a signed package. */
async function buildWithCli(): Promise<void> {
  const init = await mosis(['init', 'journey', '--id', PACKAGE_ID, '--name', 'Journey Notes']);
  expect(init.code, init.stderr).toBe(0);
  const manifestPath = path.join(paths.scratch, 'journey', 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(manifestPath, JSON.stringify({ ...manifest, permissions: ['network'] }, null, 2));
  const keys = await mosis(['keys', 'generate']);
  expect(keys.code, keys.stderr).toBe(0);
  publicKey = /or paste (\S+) on the signing keys page/.exec(keys.stdout)?.[1] ?? '';
  expect(publicKey).not.toBe('');
  const build = await mosis(['build', 'journey']);
  expect(build.code, build.stderr + build.stdout).toBe(0);
  packageFile = path.join(paths.scratch, `${PACKAGE_ID}-1.0.0.mosis`);
}

beforeAll(async () => {
  [portal, browser] = await Promise.all([startWebPortal(), launchBrowser(), buildWithCli()]);
  call = apiOf(portal);
  const admin = await createAdmin(portal, call);
  reviewerSecret = (await createReviewer(call, admin, REVIEWER)).totpSecret;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

/** Signs in in the browser (with the authenticator's code when given) and waits for `landing`. */
async function signIn(person: { email: string; password: string }, landing: string, totpSecret?: string): Promise<void> {
  const { page } = browser;
  await page.goto(`${portal.baseUrl}/sign-in?return_to=${encodeURIComponent(landing)}`);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (totpSecret) {
    await page.getByLabel('Code from your authenticator app').fill(nextTotpCode(totpSecret));
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.waitForURL(`${portal.baseUrl}${landing}`);
}

async function signOut(): Promise<void> {
  await browser.page.goto(`${portal.baseUrl}/sign-out`);
  await browser.page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
}

/** A device id inside (or outside) the rollout of the given percentage, by the store's documented bucket. */
function deviceFor(percent: number, inside: boolean): string {
  for (let i = 0; ; i += 1) {
    const id = `journey-device-${i}`;
    if (rolloutBucket(id, PACKAGE_ID, 1) < percent * 100 === inside) return id;
  }
}

/** The app's store detail as a device (with its id) or an anonymous caller sees it. */
async function storeDetail(device?: string): Promise<{ version: { version: string; permissions: string[] } | null }> {
  const res = await fetch(`${portal.baseUrl}/v1/store/apps/${PACKAGE_ID}`, { headers: device ? { 'x-mosis-device': device } : {} });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { version: { version: string; permissions: string[] } | null };
}

describe('the web UI: the acceptance journey', () => {
  it('goes from registering to an app in the store, in the browser', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    // Register, and confirm the address from the mail.
    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Name').fill(DEV.name);
    await page.getByLabel('Email').fill(DEV.email);
    await page.getByLabel('Password').fill(DEV.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your mail' }).waitFor();
    const verification = await waitForMail(portal.dataDir, DEV.email, (mail) => mail.text.includes('/verify-email?token='));
    await page.goto(linkIn(verification, baseUrl, '/verify-email'));
    await page.getByRole('heading', { level: 1, name: 'Address confirmed' }).waitFor();

    // Sign in; create the app.
    await signIn(DEV, '/apps');
    await page.getByRole('link', { name: 'New app' }).first().click();
    await page.waitForURL(`${baseUrl}/apps/new`);
    await page.getByLabel('Package id').fill(PACKAGE_ID);
    await page.getByLabel('Name').fill('Journey Notes');
    await page.getByLabel('Summary').fill('Notes that travel with you');
    await page.getByLabel('Category').fill('productivity');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.waitForURL(/\/apps\/(?!new$)[^/]+$/);
    const appId = new URL(page.url()).pathname.split('/')[2] ?? '';
    await page.getByRole('heading', { level: 1, name: 'Journey Notes' }).waitFor();

    // Register the signing key `mosis keys generate` printed.
    await page.goto(`${baseUrl}/settings/signing-keys`);
    await page.getByRole('button', { name: 'Register a key' }).first().click();
    await page.getByLabel('Name').fill('Laptop');
    await page.getByLabel('Public key').fill(publicKey);
    await page.getByRole('button', { name: 'Register key' }).click();
    await page.getByText('Registered “Laptop”').waitFor();

    // Upload the package `mosis build` made: checked first, its findings shown, then submitted.
    await page.goto(`${baseUrl}/apps/${appId}`);
    await page.getByRole('link', { name: 'Upload a version' }).first().click();
    await page.waitForURL(`${baseUrl}/apps/${appId}/versions/new`);
    await page.getByLabel('Package file (.mosis)').setInputFiles(packageFile);
    await page.getByRole('button', { name: 'Check the package' }).click();
    const report = page.getByRole('region', { name: 'The package passed its checks' });
    await report.waitFor();
    // The permission the scripts never use is a warning, explained.
    await report.getByText('permission_unused').first().waitFor();
    await page.getByRole('button', { name: 'Submit for review' }).click();
    await page.getByRole('heading', { level: 2, name: 'Submitted' }).waitFor();
    // The status follows the live stream: the checks pass, the version waits for review.
    await page.getByText('Waiting for review').first().waitFor({ timeout: 20_000 });
    const versionId = ((await page.getByRole('link', { name: 'Open the version' }).getAttribute('href')) ?? '').split('/').at(-1) ?? '';
    expect(versionId).not.toBe('');

    // A reviewer, signed in with a code, claims and approves it.
    await signOut();
    await signIn(REVIEWER, '/review', reviewerSecret);
    const row = page.getByRole('row').filter({ hasText: 'Journey Notes 1.0.0' });
    await row.getByRole('button', { name: 'Claim Journey Notes 1.0.0' }).click();
    await page.waitForURL(`${baseUrl}/review/${versionId}`);
    await page.getByText(/You hold the claim until/).waitFor();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog', { name: 'Approve Journey Notes 1.0.0?' }).getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved: Journey Notes 1.0.0 is signed with the store key').waitFor();

    // The developer publishes it to 10 % of devices.
    await signOut();
    await signIn(DEV, `/apps/${appId}/versions/${versionId}`);
    const release = page.getByRole('region', { name: 'Release' });
    await release.getByLabel('Rollout (% of devices)').fill('10');
    await release.getByRole('button', { name: 'Publish' }).click();
    await page.getByRole('dialog', { name: 'Publish 1.0.0?' }).getByRole('button', { name: 'Publish' }).click();
    await release.getByText(/Live on\s+stable\s+to\s+10 %/).waitFor();

    // At 10 %: devices inside the rollout get it, the others and anonymous callers do not yet.
    await expect.poll(async () => (await storeDetail(deviceFor(10, true))).version?.version ?? null, { timeout: 10_000 }).toBe('1.0.0');
    expect((await storeDetail(deviceFor(10, false))).version).toBeNull();
    expect((await storeDetail()).version).toBeNull();

    // Raised to 100 %: everyone.
    await release.getByLabel('Roll out to (% of devices)').fill('100');
    await release.getByRole('button', { name: 'Raise rollout' }).click();
    await page.getByRole('dialog', { name: 'Raise the rollout to 100 %?' }).getByRole('button', { name: 'Raise rollout' }).click();
    await release.getByText(/Live on\s+stable\s+to\s+100 %/).waitFor();

    // The store API, as a device sees it.
    await expect.poll(async () => (await storeDetail()).version?.version ?? null, { timeout: 10_000 }).toBe('1.0.0');
    expect((await storeDetail()).version?.permissions).toEqual(['network']);
    const catalog = await call<{ items: { package_id: string; name: string; version: string | null }[] }>('GET', '/v1/store/apps?q=journey');
    expect(catalog.items).toEqual([expect.objectContaining({ package_id: PACKAGE_ID, name: 'Journey Notes', version: '1.0.0' })]);

    // And /store, as people see it.
    await page.goto(`${baseUrl}/store`);
    await page.locator('.store-card-link', { hasText: 'Journey Notes' }).click();
    await page.waitForURL(`${baseUrl}/store/${PACKAGE_ID}`);
    await page.getByRole('heading', { level: 1, name: 'Journey Notes' }).waitFor();
    await page.getByRole('link', { name: /^Download 1\.0\.0/ }).waitFor();
    await page.getByRole('region', { name: 'What it may do' }).getByText('Internet', { exact: true }).waitFor();

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, 120_000);
});
