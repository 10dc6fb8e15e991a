import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { createAdminAccount } from '../../src/features/accounts/index.js';
import { systemClock, systemIds } from '../../src/shared/index.js';
import { makePackage, newDeveloperKey } from '../support/packages.js';
import type { ServerProcess } from '../support/server-process.js';
import { startReceiver, verifyMosisWebhook } from '../support/webhooks.js';
import { expectNoSeriousA11yViolations, launchBrowser, screenshot, type TestBrowser } from './support/browser.js';
import { startWebPortal, type WebPortal } from './support/portal.js';
import { apiOf, type Call, until as untilTruthy } from './support/people.js';

// The insight pages (analytics, crashes, webhooks, notifications, email settings) in real Chromium
// against a real portal process: data made through the API as devices, developers and reviewers
// make it, the pages driven as a person does: axe once on each page (and on the webhook's secret,
// shown once; analytics also in the dark theme and on a phone) and a screenshot of each main page.
// Other states of a page (nothing unread, a refused URL, no telemetry, another range) are not
// checked again: the same page's parts with other data.

const PACKAGE_ID = 'com.example.notes';
const DEV = { email: 'dana@example.com', password: 'a long and unusual passphrase', name: 'Dana' };
const ADMIN = { email: 'root@example.com', password: 'the admin passphrase for tests' };
const DAY_MS = 86_400_000;
/** Each journey takes seconds on a quiet machine; a loaded one (the whole suite on two cores) is given room. */
const TEST_TIMEOUT_MS = 90_000;
/** Rendered as text, never as markup: the crash pages must show it as sent. */
const HOSTILE = "<b>bold</b><img src=x onerror=alert(1)>";
const TRACE = ['stack traceback:', "\tmain.lua:42: in function 'onClick'", "\tui/list.lua:7: in function <ui/list.lua:3>", '\t[C]: in ?', '\t    (indented on purpose)'].join('\n');

let portal: WebPortal;
let browser: TestBrowser;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let devToken = '';
let adminToken = '';
let appId = '';
let emptyAppId = '';
const versions: { id: string; version: string }[] = [];

const logOf = (server: ServerProcess) => server.output().slice(-4000);

/** A call to the portal's API as a script makes it; fails the test on an unexpected status. */
const call: Call = (method, path, options) => apiOf(portal)(method, path, options);

const until = <T,>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T> => untilTruthy(portal, what, probe, timeoutMs);

/** The portal's own database, for what no API does: an admin account (the `create-admin` verb's work), the job clock. */
async function withDatabase<T>(work: (db: ReturnType<typeof openDatabase>['db']) => Promise<T>): Promise<T> {
  const database = openDatabase(loadConfig({ DATA_DIR: portal.dataDir, DATABASE_URL: portal.databaseUrl }).database);
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

async function uploadVersion(key: ReturnType<typeof newDeveloperKey>, versionCode: number): Promise<{ id: string; version: string }> {
  const file = await readFile(await makePackage({ id: PACKAGE_ID, versionCode, key }));
  const created = await call<{ id: string }>('POST', `/v1/apps/${appId}/versions`, { token: devToken, raw: file, status: 202 });
  // The manifest's version (makePackage's 1.0.<code>): the answer has it only once the checks have read the package.
  return { id: created.id, version: `1.0.${versionCode}` };
}

/** One device session as the runtime reports it: a start, performance samples, maybe a crash, a stop. */
function session(version: string, device: number, day: number, at: number, crashed: boolean) {
  const ts = (offset: number) => new Date(at + offset * 1000).toISOString();
  // Several samples of each measure, spread out, so the percentiles differ.
  const samples = (count: number, make: (i: number) => Record<string, unknown>, type: string, from: number) =>
    Array.from({ length: count }, (_, i) => ({ type, timestamp: ts(from + i), data: make(i) }));
  const events: Record<string, unknown>[] = [
    { type: 'app_start', timestamp: ts(0), data: { cold: true } },
    ...samples(4, (i) => ({ duration_ms: 380 + device * 60 + (day % 4) * 30 + i * i * 40 }), 'perf_startup', 1),
    ...samples(20, (i) => ({ avg_ms: 11 + device + (day % 3) + (i > 16 ? i : i / 4), p95_ms: 31 }), 'perf_frame', 10),
    ...samples(6, (i) => ({ used_mb: 80 + device * 10 + day * 2 + i * 12, limit_mb: 512 }), 'perf_memory', 40),
    { type: 'screen_view', timestamp: ts(50), data: { screen: 'editor' } },
  ];
  if (crashed) events.push({ type: 'app_crash', timestamp: ts(60), data: { reason: 'lua_error' } });
  else events.push({ type: 'app_stop', timestamp: ts(300), data: { duration_ms: 300_000 } });
  return { app_id: PACKAGE_ID, app_version: version, mosis_version: '1.4.0', device_id: `device-${device}`, session_id: `s-${at}-${device}`, events };
}

beforeAll(async () => {
  [portal, browser, receiver] = await Promise.all([
    // Webhooks to the local receiver (plain http on 127.0.0.1); reviewers without 2FA, so a script approves.
    startWebPortal({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: 'true', REQUIRE_2FA_ROLES: 'none' }),
    launchBrowser(),
    startReceiver(),
  ]);

  // A developer with a signing key and an app, and an app nobody has sent telemetry for.
  await call('POST', '/v1/auth/register', { body: DEV, status: 202 });
  devToken = (await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: DEV.email, password: DEV.password } })).access_token;
  const key = newDeveloperKey();
  await call('POST', '/v1/signing-keys', { token: devToken, body: { name: 'laptop', public_key: key.publicKeyBase64 }, status: 201 });
  appId = (await call<{ id: string }>('POST', '/v1/apps', { token: devToken, body: { package_id: PACKAGE_ID, name: 'Notes' }, status: 201 })).id;
  emptyAppId = (await call<{ id: string }>('POST', '/v1/apps', { token: devToken, body: { package_id: 'com.example.quiet', name: 'Quiet' }, status: 201 })).id;

  // Two versions, checked by the portal; an admin (made as `mosis-portal create-admin` makes one) approves the first, the developer publishes it.
  versions.push(await uploadVersion(key, 1), await uploadVersion(key, 2));
  const [admin] = await Promise.all([
    withDatabase((db) => createAdminAccount({ db, clock: systemClock, ids: systemIds(systemClock) }, ADMIN)),
    ...versions.map((v) =>
      until(`version ${v.version} to pass its checks`, async () => (await call<{ status: string }>('GET', `/v1/apps/${appId}/versions/${v.id}`, { token: devToken })).status === 'pending_review'),
    ),
  ]);
  expect(admin.created).toBe(true);
  adminToken = (await call<{ access_token: string }>('POST', '/v1/auth/login', { body: { email: ADMIN.email, password: ADMIN.password } })).access_token;
  const [first, second] = versions as [{ id: string; version: string }, { id: string; version: string }];
  await call('POST', `/v1/review/${first.id}/decision`, { token: adminToken, body: { decision: 'approve' } });
  await call('POST', `/v1/apps/${appId}/versions/${first.id}/publish`, { token: devToken, body: { channel: 'stable', rollout_percent: 100 } });

  // Ten days of sessions from three devices (1.0.2 in the last four), a few crashed; and crash reports in two groups.
  // Sessions start a few minutes into each UTC day, so each lands in the day it is counted for.
  const now = Date.now();
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const batches = [];
  for (let day = 9; day >= 0; day -= 1) {
    for (let device = 0; device < 3; device += 1) {
      const version = day < 4 && device > 0 ? second.version : first.version;
      batches.push(session(version, device, day, today - day * DAY_MS + (device + 1) * 60_000, device === 2 && day % 3 === 0));
    }
  }
  for (const batch of batches) expect(await call<{ accepted: number }>('POST', '/v1/telemetry/events', { body: batch, status: 202 })).toMatchObject({ accepted: batch.events.length });
  const crash = (device: number, version: string, type: string, message: string, stack_trace: string) =>
    call<{ accepted: boolean }>('POST', '/v1/telemetry/crashes', {
      status: 202,
      body: { app_id: PACKAGE_ID, app_version: version, mosis_version: '1.4.0', device_id: `device-${device}`, timestamp: new Date(now - device * 3_600_000).toISOString(), crash: { type, message, stack_trace, context: { screen: 'editor', free_mb: 212 } } },
    });
  for (const device of [0, 1, 2]) expect(await crash(device, device === 2 ? second.version : first.version, 'lua_error', `main.lua:42: attempt to index a nil value (field '${HOSTILE}')`, TRACE)).toMatchObject({ accepted: true });
  expect(await crash(1, first.version, 'out_of_memory', 'not enough memory', 'stack traceback:\n\timages.lua:88: in function \'decode\'')).toMatchObject({ accepted: true });

  // The rollup runs each minute: its next slot is moved to now, as if the minute had come.
  await withDatabase((db) => db.updateTable('jobs').set({ run_at: new Date().toISOString() }).where('kind', '=', 'telemetry.rollup').where('state', '=', 'queued').execute());

  // Signed in in the browser as the developer.
  const { page } = browser;
  await page.goto(`${portal.baseUrl}/sign-in?return_to=%2Fnotifications`);
  await page.getByLabel('Email').fill(DEV.email);
  await page.getByLabel('Password').fill(DEV.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${portal.baseUrl}/notifications`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await receiver?.close();
  await portal?.stop();
});

describe('the web UI: insights', () => {
  it('lists notifications, gets new ones live, marks them read, and keeps email preferences', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    const [, second] = versions as [unknown, { id: string; version: string }];

    // Approving and publishing the first version told the developer twice.
    await page.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    await page.getByText('New notifications appear here as they happen.').waitFor();
    await page.getByRole('link', { name: 'Notes 1.0.1 (1) was approved' }).waitFor();
    await page.getByRole('link', { name: 'Notes version code 1 is published' }).waitFor();

    // A reviewer approves the second version: the notification arrives while the page is open, and the bell counts it.
    await call('POST', `/v1/review/${second.id}/decision`, { token: adminToken, body: { decision: 'approve' } });
    const live = page.getByRole('link', { name: 'Notes 1.0.2 (2) was approved' });
    await live.waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'New notification: Notes 1.0.2 (2) was approved' }).count()).toBe(1);
    await page.getByRole('link', { name: 'Notifications, 3 unread' }).waitFor();
    expect(await live.getAttribute('href')).toBe(`/apps/${appId}/versions/${second.id}`);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'notifications');

    // Only unread ones; one marked read, then all.
    await page.getByText('Unread (3)').click();
    await page.waitForURL(`${baseUrl}/notifications?unread=true`);
    await page.getByRole('button', { name: 'Mark read: Notes 1.0.2 (2) was approved' }).click();
    await page.getByRole('link', { name: 'Notifications, 2 unread' }).waitFor();
    await expect.poll(() => page.locator('.notification').count()).toBe(2);
    await page.getByRole('button', { name: 'Mark all read' }).click();
    await page.getByRole('heading', { level: 2, name: 'Nothing unread' }).waitFor();
    await page.getByRole('link', { name: 'Notifications, none unread' }).waitFor();

    // Email preferences, from the page's link: one kind off, kept.
    await page.getByRole('link', { name: 'Email settings' }).click();
    await page.waitForURL(`${baseUrl}/settings/notifications`);
    const approved = page.getByLabel('A version of my app was approved');
    expect(await approved.isChecked()).toBe(true);
    // A developer is not offered the reviewers' digest.
    expect(await page.getByLabel(/review queue/).count()).toBe(0);
    await approved.uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved at' }).waitFor();
    expect((await call<{ email: Record<string, boolean> }>('GET', '/v1/notifications/preferences', { token: devToken })).email).toMatchObject({ version_approved: false, version_published: true });
    await page.reload();
    expect(await page.getByLabel('A version of my app was approved').isChecked()).toBe(false);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-notifications');
    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('lists crash groups and shows a stack trace as text', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    await page.goto(`${baseUrl}/apps/${appId}/crashes`);
    await page.getByRole('heading', { level: 1, name: 'Crashes' }).waitFor();
    const rows = page.locator('.crash-table tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const lua = rows.filter({ hasText: 'attempt to index a nil value' });
    // Three devices, two versions.
    expect(await lua.locator('td').nth(2).textContent()).toBe('3');
    expect(await lua.locator('td').nth(3).textContent()).toBe('3');
    expect(await lua.locator('td').nth(4).textContent()).toBe('1.0.2, 1.0.1');
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'crashes');

    // Filtered by status: none resolved yet.
    await page.getByLabel('Status').selectOption('resolved');
    await page.getByRole('heading', { level: 2, name: 'No resolved crash groups' }).waitFor();
    expect(page.url()).toBe(`${baseUrl}/apps/${appId}/crashes?status=resolved`);
    await page.getByRole('button', { name: 'Show every status' }).click();

    // The group's page: message and trace as sent, escaped, whitespace kept.
    await lua.getByRole('link').click();
    await page.waitForURL(/\/crashes\/cg_[0-9a-f]{24}$/);
    const trace = page.locator('#crash-trace-text');
    await trace.waitFor();
    expect(await trace.textContent()).toBe(TRACE);
    expect(await trace.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { whiteSpace: string } }).getComputedStyle(el).whiteSpace)).toBe('pre');
    expect(await page.locator('.ins-code').first().textContent()).toContain(HOSTILE);
    expect(await page.locator('main b, main img[src="x"]').count()).toBe(0);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'crash-group');

    // Resolved, and listed as such.
    await page.getByRole('button', { name: 'Mark resolved' }).click();
    await page.getByRole('button', { name: 'Open again' }).waitFor();
    await page.getByRole('link', { name: 'All crashes' }).click();
    await page.getByLabel('Status').selectOption('resolved');
    await expect.poll(() => rows.count()).toBe(1);
    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('adds a webhook, pings it, reads the delivery log, redelivers, and manages it', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    await page.goto(`${baseUrl}/apps/${appId}/webhooks`);
    await page.getByRole('heading', { level: 2, name: 'No webhooks yet' }).waitFor();

    // A URL the API refuses: its message under the field.
    await page.getByRole('button', { name: 'New webhook' }).click();
    const url = page.getByLabel('Payload URL');
    await url.fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await expect.poll(() => url.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator(`[id="${((await url.getAttribute('aria-describedby')) ?? '').split(' ')[0]}"]`).textContent()).toContain('Must use https');
    // (The form is the webhook page's own, checked there.)

    // The receiver's URL, every event: created, the secret shown once.
    await url.fill(receiver.url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('heading', { level: 2, name: 'Webhook created' }).waitFor();
    const secret = (await page.locator('.secret-value code').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Copy the secret' }).waitFor();
    await expectNoSeriousA11yViolations(page, 'webhook created, its secret shown');

    // Its page: a ping, delivered to the receiver and signed with that secret.
    await page.getByRole('link', { name: 'Open the webhook' }).click();
    await page.waitForURL(/\/webhooks\/[^/]+$/);
    const webhookUrl = page.url();
    await page.getByRole('heading', { level: 1, name: /^Webhook to 127\.0\.0\.1:/ }).waitFor();
    await page.getByRole('heading', { level: 3, name: 'No deliveries yet' }).waitFor();
    await page.getByRole('button', { name: 'Send a ping' }).click();
    const deliveries = page.locator('.delivery-table tbody tr');
    await expect.poll(() => deliveries.filter({ hasText: 'Delivered' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await deliveries.first().locator('td').nth(3).textContent()).toBe('200');
    const ping = await until('the ping at the receiver', () => Promise.resolve(receiver.received.find((r) => r.headers['mosis-event'] === 'ping')));
    expect(verifyMosisWebhook(secret, ping.headers, ping.body)).toBe(true);

    // Redelivered: a second delivery of the same body.
    await page.getByRole('button', { name: /^Redeliver ping/ }).click();
    await expect.poll(() => deliveries.filter({ hasText: 'Delivered' }).count(), { timeout: 15_000 }).toBe(2);
    expect(await deliveries.first().textContent()).toContain('redelivery');
    await expect.poll(() => receiver.received.filter((r) => r.headers['mosis-event'] === 'ping').length).toBe(2);
    await deliveries.first().getByText('Details').click();
    await deliveries.first().getByText('Sent again from').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'webhook');
    await page.setViewportSize({ width: 360, height: 740 });
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBe(360);
    await page.setViewportSize({ width: 1280, height: 800 });

    // Only some events; saved.
    await page.getByLabel('Only the events I choose').check();
    await page.getByLabel(/^version\.published/).check();
    await page.getByLabel(/^version\.rollout_changed/).check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const [stored] = (await call<{ items: { events: string[]; active: boolean }[] }>('GET', `/v1/apps/${appId}/webhooks`, { token: devToken })).items;
    expect(stored?.events).toEqual(['version.published', 'version.rollout_changed']);

    // A new secret, shown once.
    await page.getByRole('button', { name: 'Rotate the secret' }).click();
    await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('heading', { level: 2, name: 'New signing secret' }).waitFor();
    const rotated = (await page.locator('.secret-value code').textContent()) ?? '';
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByRole('button', { name: 'I have saved it' }).click();

    // Turned off by the portal after days of failures (as its delivery job does): the page says why, and turns it on again.
    await withDatabase((db) =>
      db
        .updateTable('webhooks')
        .set({ active: 0, disabled_reason: 'Every delivery failed for more than three days.', failing_since: new Date(Date.now() - 4 * DAY_MS).toISOString() })
        .where('app_id', '=', appId)
        .execute(),
    );
    await page.goto(webhookUrl);
    const off = page.getByRole('region', { name: 'This webhook is off' });
    await off.getByText('The portal turned this webhook off.').waitFor();
    expect(await page.getByRole('button', { name: 'Send a ping' }).isDisabled()).toBe(true);
    await off.getByRole('button', { name: 'Turn on again' }).click();
    await page.getByRole('status').filter({ hasText: 'The webhook is on again.' }).waitFor();
    expect(await off.count()).toBe(0);

    // The list shows it; then it is deleted.
    await page.getByRole('link', { name: 'All webhooks' }).click();
    await page.getByRole('link', { name: receiver.url }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'webhooks');
    await page.getByRole('link', { name: receiver.url }).click();
    await page.getByRole('button', { name: 'Delete webhook' }).click();
    await page.getByRole('dialog', { name: 'Delete this webhook?' }).getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(`${baseUrl}/apps/${appId}/webhooks`);
    await page.getByRole('heading', { level: 2, name: 'No webhooks yet' }).waitFor();
    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('charts analytics over a range, with the numbers in tables, in both themes', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    // An app without telemetry says so.
    await page.goto(`${baseUrl}/apps/${emptyAppId}/analytics`);
    await page.getByRole('heading', { level: 2, name: 'No telemetry in this range' }).waitFor();

    // The rollup has run (its slot was moved to the start of the test).
    await until('the telemetry rollup', async () => (await call<{ totals: { events: number } }>('GET', `/v1/apps/${appId}/analytics`, { token: devToken })).totals.events > 0, 30_000);

    await page.goto(`${baseUrl}/apps/${appId}/analytics`);
    await page.getByRole('heading', { level: 1, name: 'Analytics' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'All versions, the last 30 days' }).waitFor();
    const canvases = page.locator('.chart-plot canvas');
    await expect.poll(() => canvases.count()).toBe(5);
    // Every chart is an image with a name, and its numbers are in a table.
    expect(await page.getByRole('img', { name: /^Line chart of app starts, sessions and active devices per day: 30 starts and 30 sessions in all\./ }).count()).toBe(1);
    const usage = page.locator('figure.chart').first();
    await usage.getByText('Show the numbers').click();
    const dayRows = usage.locator('tbody tr');
    expect(await dayRows.count()).toBe(30);
    // Today: three devices started once each.
    expect(await dayRows.last().locator('td').allTextContents()).toEqual(['3', '3', '3']);
    expect(await page.locator('.ins-stat').filter({ hasText: 'Starts' }).locator('.ins-stat-value').textContent()).toBe('30');
    const byVersion = page.locator('section[aria-labelledby="analytics-versions"] tbody tr');
    expect(await byVersion.locator('th').allTextContents()).toEqual(['1.0.2', '1.0.1']);
    expect(await byVersion.first().locator('td').first().textContent()).toBe('8');
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'analytics');

    // Another range: 7 days, in the URL.
    await page.getByText('7 days', { exact: true }).click();
    await page.waitForURL(`${baseUrl}/apps/${appId}/analytics?range=7d`);
    await page.getByRole('status').filter({ hasText: 'All versions, the last 7 days' }).waitFor();
    await expect.poll(() => dayRows.count()).toBe(7);

    // A custom range: the last day before the first is refused next to its field; a good one is shown by the hour.
    await page.getByText('Custom', { exact: true }).click();
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);
    await page.getByLabel('First day').fill(today);
    await page.getByLabel('Last day').fill(yesterday);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => page.getByLabel('Last day').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('First day').fill(yesterday);
    await page.getByLabel('Last day').fill(today);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.waitForURL(`${baseUrl}/apps/${appId}/analytics?from=${yesterday}&to=${today}`);
    await expect.poll(() => dayRows.count()).toBe(48);

    // One version.
    await page.getByText('30 days', { exact: true }).click();
    await page.waitForURL(`${baseUrl}/apps/${appId}/analytics`);
    await page.getByLabel('Version', { exact: true }).selectOption('1.0.2');
    await page.getByRole('status').filter({ hasText: 'Version 1.0.2, the last 30 days' }).waitFor();
    await expect.poll(() => page.locator('.ins-stat').filter({ hasText: 'Starts' }).locator('.ins-stat-value').textContent()).toBe('8');

    // The dark theme: every chart is drawn again, with the dark palette.
    const marked = await canvases.evaluateAll((nodes) => nodes.map((node) => (node as unknown as { dataset: Record<string, string> }).dataset['drawn'] = 'light').length);
    expect(marked).toBe(5);
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => page.locator('.chart-plot canvas:not([data-drawn])').count()).toBe(5);
    await expectNoSeriousA11yViolations(page, 'analytics in the dark theme');
    await page.getByLabel('Theme').selectOption('system');

    // A phone.
    await page.setViewportSize({ width: 360, height: 740 });
    // Nothing wider than the phone: wide tables scroll in their own box.
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBe(360);
    await expectNoSeriousA11yViolations(page, 'analytics on a phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
