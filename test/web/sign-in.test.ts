import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/features/accounts/totp.js';
import type { ServerProcess } from '../support/server-process.js';
import { expectNoSeriousA11yViolations, launchBrowser, screenshot, type TestBrowser } from './support/browser.js';
import { linkIn, waitForMail } from './support/outbox.js';
import { startWebPortal, type WebPortal } from './support/portal.js';

// The accounts pages in real Chromium against a real portal process (the run's dist/): one long
// journey, as a person makes it, with axe once on every page (the landing page and /apps are
// checked in store-review and developer, with the apps that fill them) and screenshots of the
// main ones for the docs.

const PASSWORD = 'a long and unusual passphrase';
const NEW_PASSWORD = 'another long and unusual passphrase';
const EMAIL = 'ada@example.com';

let portal: WebPortal;
let browser: TestBrowser;

/** What the portal printed, for a failure's message. */
const logOf = (server: ServerProcess) => server.output().slice(-4000);

beforeAll(async () => {
  [portal, browser] = await Promise.all([startWebPortal(), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

// Long journeys in a real browser: minutes on a busy two-core machine, not Vitest's 30 s.
describe('the web UI: accounts', { timeout: 120_000 }, () => {
  it('registers, verifies from the mail, signs in to an empty app list, and signs out', async () => {
    const { page } = browser;
    const { baseUrl } = portal;

    // The landing page, signed out.
    await page.goto(`${baseUrl}/`);
    await expect.poll(() => page.title()).toBe('Mosis Portal · Mosis Portal');
    await page.getByRole('heading', { level: 1, name: 'Mosis Portal' }).waitFor();

    // Register: the API's field error (a password too short) sits under the field it names.
    await page.getByRole('link', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create your account' }).waitFor();
    await page.getByLabel('Name').fill('Ada');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    const password = page.getByLabel('Password');
    await expect.poll(() => password.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await password.getAttribute('aria-describedby')) ?? '';
    expect(await page.locator(`[id="${describedBy.split(' ')[0]}"]`).textContent()).toContain('Must be 12 to 256 characters');
    await expectNoSeriousA11yViolations(page, 'register with a field error');
    await screenshot(page, 'register-field-error');

    await password.fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your mail' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain(EMAIL);

    // The verification mail's link opens the verify page, which confirms the address.
    const verification = await waitForMail(portal.dataDir, EMAIL, (mail) => mail.text.includes('/verify-email?token='));
    await page.goto(linkIn(verification, baseUrl, '/verify-email'));
    await page.getByRole('heading', { level: 1, name: 'Address confirmed' }).waitFor();
    await expectNoSeriousA11yViolations(page);

    // A signed-out visit to /apps goes to sign-in, and comes back after it.
    await page.goto(`${baseUrl}/apps`);
    await page.waitForURL(`${baseUrl}/sign-in?return_to=%2Fapps`);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'sign-in');

    // A wrong password: the API's problem, next to the form.
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = page.locator('.form-error[data-code="invalid_credentials"]');
    await refusal.waitFor();
    expect(await refusal.getAttribute('role')).toBe('alert');
    expect(await refusal.textContent()).toContain('The email or password is wrong');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/apps`);
    await page.getByRole('heading', { level: 2, name: 'No apps yet' }).waitFor();
    expect(await page.getByRole('link', { name: 'New app' }).getAttribute('href')).toBe('/apps/new');
    // The header for a developer: their pages, the bell, the account; no review or admin.
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Store', 'Docs', 'My apps']);
    expect(await page.getByRole('link', { name: 'Notifications, none unread' }).isVisible()).toBe(true);

    // The dark theme, chosen and kept across a reload.
    await page.getByLabel('Theme').selectOption('dark');
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'No apps yet' }).waitFor();
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.getByLabel('Theme').selectOption('system');

    // A phone: the navigation folds into the menu button.
    await page.setViewportSize({ width: 360, height: 740 });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav.waitFor();
    // The open menu exists only on a phone: its one check at that width.
    await expectNoSeriousA11yViolations(page, '/apps on a phone, menu open');
    await page.setViewportSize({ width: 1280, height: 800 });

    // An address no page has.
    await page.goto(`${baseUrl}/no/such/page`);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await expectNoSeriousA11yViolations(page);

    // Sign out from the account menu; /apps then asks to sign in again.
    await page.goto(`${baseUrl}/apps`);
    await page.getByRole('button', { name: 'Ada' }).click();
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await page.goto(`${baseUrl}/apps`);
    await page.waitForURL(/\/sign-in\?return_to=%2Fapps$/);

    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  });

  it('resets a forgotten password from the mailed link', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    await page.goto(`${baseUrl}/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByRole('heading', { level: 1, name: 'Forgot your password?' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your mail' }).waitFor();
    await expectNoSeriousA11yViolations(page);

    const reset = await waitForMail(portal.dataDir, EMAIL, (mail) => mail.text.includes('/reset-password?token='));
    await page.goto(linkIn(reset, baseUrl, '/reset-password'));
    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await expectNoSeriousA11yViolations(page);
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Password set' }).waitFor();

    await page.getByRole('link', { name: 'Sign in' }).last().click();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/apps`);
    await page.getByRole('heading', { level: 1, name: 'My apps' }).waitFor();
    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  });

  it('asks an account with two-factor authentication for its code, or a recovery code', async () => {
    const { page } = browser;
    const { baseUrl } = portal;
    // Two-factor authentication turned on through the API (its settings page is another's): this
    // ends every other session, the browser's included.
    const call = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const token = String((await call('/v1/auth/login', { email: EMAIL, password: NEW_PASSWORD }))['access_token']);
    const secret = String((await call('/v1/auth/2fa/setup', {}, token))['secret']);
    const enabled = await call('/v1/auth/2fa/enable', { code: totpCode(secret, new Date()), password: NEW_PASSWORD }, token);
    const recoveryCodes = enabled['recovery_codes'] as string[];

    await page.goto(`${baseUrl}/apps`);
    await page.waitForURL(/\/sign-in\?return_to=%2Fapps$/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Two-factor code' }).waitFor();

    // A wrong code: the API's message under the code field.
    const code = page.getByLabel('Code from your authenticator app');
    await code.fill('000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => code.getAttribute('aria-invalid')).toBe('true');
    await expectNoSeriousA11yViolations(page, 'the two-factor step with a wrong code');

    // The next step's code (the one enabling it is spent) signs in, and returns to /apps.
    await code.fill(totpCode(secret, new Date(Date.now() + 30_000)));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/apps`);
    await page.getByRole('heading', { level: 1, name: 'My apps' }).waitFor();

    // Signed out, then in again with a recovery code instead.
    await page.goto(`${baseUrl}/sign-out`);
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
    await page.goto(`${baseUrl}/sign-in`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0] ?? '');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/apps`);
    expect(await page.getByRole('button', { name: 'Ada' }).isVisible()).toBe(true);
    expect(browser.pageErrors, logOf(portal.server)).toEqual([]);
  });
});
