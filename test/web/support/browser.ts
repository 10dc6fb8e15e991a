import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core: one persistent context per
 * test file, in a fresh profile directory, closed (and removed) in afterAll. Never
 * `npx playwright install`: the suite uses the system's browser, and reaches only 127.0.0.1.
 */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const ROOT = path.resolve(import.meta.dirname, '../../..');
/** Git-ignored; the docs take their pictures of the UI from here. */
export const SCREENSHOTS_DIR = path.join(ROOT, 'test-results/screenshots');

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors in the page and Content-Security-Policy refusals seen so far: a test expects none. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'mosis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(`${error.name}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
  });
  return {
    context,
    page,
    pageErrors,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

let axeSource: Promise<string> | undefined;

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/**
 * Runs axe-core on the page as it is and fails on any serious or critical violation, listing each
 * rule, its impact and the elements it found. axe's source is evaluated through the DevTools
 * protocol, which the page's Content-Security-Policy does not govern: the policy stays as strict
 * as in production, and the test still sees every violation of it.
 */
export async function expectNoSeriousA11yViolations(page: Page, where = page.url()): Promise<void> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const source = await axeSource;
  // A string is evaluated as a script by the DevTools protocol, outside the page's policy (an
  // inline <script> or eval() from the page would be refused by it, rightly).
  // (The callbacks run in the page; this project's types have no DOM, hence globalThis.)
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(source);
  const results = await page.evaluate(() => {
    const inPage = globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<AxeResults> }; document: unknown };
    return inPage.axe.run(inPage.document, { resultTypes: ['violations'] });
  });
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = serious.map((v) => `- ${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)}`).join('\n')}`).join('\n');
  expect(serious, `accessibility violations on ${where}:\n${report}`).toEqual([]);
}

/** Saves a PNG of the page (the viewport's width, the page's full height) as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true, animations: 'disabled' });
}
