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

/** What the page sends back: the serious and critical violations only, with what the report needs. */
type SeriousViolation = { id: string; impact: string; help: string; targets: unknown[] };

/**
 * Runs axe-core on the page as it is and fails on any serious or critical violation, listing each
 * rule, its impact and the elements it found. axe's source is evaluated through the DevTools
 * protocol, which the page's Content-Security-Policy does not govern: the policy stays as strict
 * as in production, and the test still sees every violation of it.
 *
 * A run costs Chromium about 0.1 CPU-s, plus about 0.06 s to send axe's 650 KB source again after
 * each full page load (it stays in the page across the app's own navigations), so the tests call
 * this once per distinct page or dialog, in light and desktop width, and in the dark theme and at
 * a phone's width on a few representative pages only: not on every state of a page. Every rule
 * runs (restricting axe to the WCAG tags saved nothing measurable; best-practice rules cost
 * almost nothing). Sending the source once with addInitScript instead would cost every page
 * load about 0.1 CPU-s, checked or not. The page filters the results itself: axe's whole answer
 * (passes, inapplicable rules…, some 50 KB) serialised through the protocol cost as much again as
 * the run.
 */
export async function expectNoSeriousA11yViolations(page: Page, where = page.url()): Promise<void> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // (The callback runs in the page; this project's types have no DOM, hence globalThis.)
  const run = () =>
    page.evaluate(async () => {
      const inPage = globalThis as unknown as { axe?: { run(context: unknown, options: unknown): Promise<AxeResults> }; document: unknown };
      if (!inPage.axe) return undefined;
      const results = await inPage.axe.run(inPage.document, { resultTypes: ['violations'] });
      return results.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v): SeriousViolation => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => n.target) }));
    });
  // axe stays in the page across the app's own navigations: sent again only after a full load.
  let serious = await run();
  if (!serious) {
    // A string is evaluated as a script by the DevTools protocol, outside the page's policy (an
    // inline <script> or eval() from the page would be refused by it, rightly).
    await page.evaluate(await axeSource);
    serious = await run();
    if (!serious) throw new Error(`axe-core did not load on ${where}`);
  }
  const report = serious.map((v) => `- ${v.id} (${v.impact}): ${v.help}\n${v.targets.map((t) => `    ${JSON.stringify(t)}`).join('\n')}`).join('\n');
  expect(serious, `accessibility violations on ${where}:\n${report}`).toEqual([]);
}

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/**
 * Saves a PNG of the page (the viewport's width, the page's full height) as
 * test-results/screenshots/<name>.png, for the docs: one per main page, not one per state. Full
 * height stays: at one picture per page it costs Chromium under a second more, in all, than the
 * viewport alone would, and a viewport picture shows wherever the test left the page scrolled.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true, animations: 'disabled' });
}
