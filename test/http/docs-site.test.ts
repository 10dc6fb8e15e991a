import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlFile, PORTAL_PATHS, ROOT } from '../../scripts/docs-site/build.js';
import { checkLinks, type SitePage } from '../../scripts/docs-site/links.js';
import { INDEX_SOURCE, readNav, readSources } from '../../scripts/docs-site/site.js';
import { DOCS_SITE_DIR } from '../../src/http/docs-site.js';
import { distBuilt } from '../support/dist.js';
import { startPortal, type TestPortal } from '../support/portal.js';

/**
 * The docs site as `npm run build` writes it (dist/docs-site, the run's build: test/support/dist.ts)
 * and as the portal serves it at /docs.
 */

interface BuiltSite {
  pages: SitePage[];
  /** Every file of the site as its URL (`/docs/pagefind/pagefind.js`). */
  files: string[];
}

async function readBuiltSite(): Promise<BuiltSite> {
  const entries = await readdir(DOCS_SITE_DIR, { recursive: true, withFileTypes: true });
  const names = entries.filter((e) => e.isFile()).map((e) => path.relative(DOCS_SITE_DIR, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  const pages: SitePage[] = [];
  for (const name of names.filter((n) => n.endsWith('.html') && !n.includes('/'))) {
    const url = name === 'index.html' ? '/docs' : `/docs/${name.slice(0, -'.html'.length)}`;
    pages.push({ url, html: await readFile(path.join(DOCS_SITE_DIR, name), 'utf8') });
  }
  return { pages, files: names.map((n) => `/docs/${n}`) };
}

/** The words of a page's main text (the part the search index holds), lowercase. */
function bodyWords(html: string): Set<string> {
  const main = /<main[^>]*>([\s\S]*)<\/main>/.exec(html)?.[1] ?? '';
  const text = main
    .replace(/<footer[\s\S]*?<\/footer>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ')
    .toLowerCase();
  return new Set(text.split(/[^a-z]+/).filter((w) => w.length >= 8));
}

let site: BuiltSite;

beforeAll(async () => {
  await distBuilt();
  site = await readBuiltSite();
}, 120_000);

describe('the docs site, as built', () => {
  it('has every page of docs/ in its navigation, operator guide and developer guide, and built', async () => {
    const { pages } = await readSources(ROOT);
    const index = pages.find((p) => p.source === INDEX_SOURCE);
    const nav = readNav(index?.markdown ?? '');
    expect(nav.map((section) => section.title)).toEqual(['Operator guide', 'Developer guide']);
    const listed = new Set(nav.flatMap((section) => section.items.map((item) => item.href.split('#')[0])));
    const unlisted = pages.filter((p) => p.source !== INDEX_SOURCE && !listed.has(p.url)).map((p) => p.source);
    expect(unlisted, 'pages of docs/ missing from the lists of docs/README.md (the menu)').toEqual([]);
    for (const p of pages) expect(site.files, `${p.source} is built`).toContain(`/docs/${htmlFile(p.url)}`);
    // The menu is on every page, the current page marked.
    const manifest = site.pages.find((p) => p.url === '/docs/manifest')?.html ?? '';
    expect(manifest).toContain('<a href="/docs/manifest" aria-current="page">Manifest reference</a>');
    expect(manifest).toContain('<a href="/docs/install-synology">Install on a Synology NAS</a>');
  });

  it('has no broken link: every link between pages, to an anchor, to a site file or to the repository resolves', () => {
    const broken = checkLinks(site.pages, {
      files: site.files,
      portalPaths: PORTAL_PATHS,
      repositoryFile: (file) => existsSync(path.join(ROOT, file)) && statSync(path.join(ROOT, file)).isFile(),
    });
    expect(broken, 'broken links in docs/*.md (fix the link, or the heading it points at)').toEqual([]);
    // The check looked at something: pages link to each other, to anchors, and to the API reference.
    const links = site.pages.flatMap((p) => [...p.html.matchAll(/href="(\/docs[^"]*)"/g)].map((m) => m[1] ?? ''));
    expect(links.filter((l) => l.includes('#')).length).toBeGreaterThan(20);
    expect(links).toContain('/docs/api');
  });

  it('includes the configuration table of the README, one list for both', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const variables = [...readme.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1] ?? '');
    expect(variables.length).toBeGreaterThan(30);
    const page = site.pages.find((p) => p.url === '/docs/configuration')?.html ?? '';
    for (const variable of variables) expect(page).toContain(`<td><code>${variable}</code>`);
  });

  it('loads nothing from another origin, and runs no inline script', () => {
    for (const p of site.pages) {
      const resources = [...p.html.matchAll(/<(?:script|link|img)\b[^>]*(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
      for (const resource of resources) expect(resource, p.url).toMatch(/^(\/docs\/|data:)/);
      expect(p.html, p.url).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(p.html, p.url).not.toMatch(/\son[a-z]+="/);
    }
  });
});

describe('the docs site, served by the portal [sqlite]', () => {
  let portal: TestPortal;
  let stop: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    ({ portal, stop } = await startPortal('sqlite'));
    await portal.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(portal.app.server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await stop();
  });

  const get = (url: string, headers: Record<string, string> = {}) => portal.app.inject({ method: 'GET', url, headers });

  it('serves the index at /docs and a page at /docs/<page>, with the menu and the docs CSP', async () => {
    for (const url of ['/docs', '/docs/']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<h2>Operator guide</h2>');
      expect(res.body).toContain('<h2>Developer guide</h2>');
    }
    const page = await get('/docs/manifest');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1 id="manifest-reference">Manifest reference');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/'unsafe-eval'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['cache-control']).toBe('no-cache');
  });

  it('serves the stylesheet, the scripts and the search index with their types, ETags and caching', async () => {
    const css = await get('/docs/assets/docs.css');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const ui = await get('/docs/pagefind/pagefind-ui.js');
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const etag = String(ui.headers['etag']);
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await get('/docs/pagefind/pagefind-ui.js', { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const fragment = site.files.find((f) => f.startsWith('/docs/pagefind/fragment/')) ?? '';
    const res = await get(fragment);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const head = await portal.app.inject({ method: 'HEAD', url: '/docs/operations' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers an unknown page 404: problem+json for a client, the site 404 page for a browser', async () => {
    const res = await get('/docs/no-such-page');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 404, code: 'not_found' });
    const browser = await get('/docs/no-such-page', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(browser.statusCode).toBe(404);
    expect(browser.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(browser.body).toContain('Page not found');
    // The page or the problem by Accept: shared caches are told.
    expect([res.headers['vary'], browser.headers['vary']]).toEqual(['Accept', 'Accept']);
    expect(browser.body).toContain('<h2>Operator guide</h2>');
    // A page has one address: not its file name, not with a trailing slash, not the build's stamp.
    for (const url of ['/docs/manifest.html', '/docs/index.html', '/docs/manifest/', '/docs/.inputs-sha256', '/docs/404.html']) {
      expect((await get(url)).statusCode, url).toBe(404);
    }
  });

  it('keeps /docs/api the OpenAPI reference', async () => {
    const res = await get('/docs/api/');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/swagger/i);
    expect(res.body).not.toContain('<h2>Operator guide</h2>');
  });

  it('refuses every way out of the site folder, over a real socket with the path sent as written', async () => {
    const secret = await readFile(path.join(ROOT, 'package.json'), 'utf8');
    const attempts = [
      '/docs/../package.json',
      '/docs/../../package.json',
      '/docs/..%2fpackage.json',
      '/docs/..%2F..%2Fpackage.json',
      '/docs/%2e%2e/package.json',
      '/docs/%2e%2e%2f%2e%2e%2fpackage.json',
      '/docs/pagefind/../../../package.json',
      '/docs/..%5c..%5cpackage.json',
      '/docs/%252e%252e%252fpackage.json',
      '/docs/%c0%ae%c0%ae/package.json',
      '/docs//etc/passwd',
      '/docs/%2fetc%2fpasswd',
      '/docs/assets/../../docs-site/index.html',
      '/docs/%00index.html',
    ];
    for (const target of attempts) {
      const { status, body } = await rawGet(base, target);
      expect([400, 404], `${target} answered ${status}`).toContain(status);
      expect(body, target).not.toContain('"name": "mosis-portal"');
      expect(body, target).not.toContain(secret.slice(0, 40));
      expect(body, target).not.toContain('root:');
    }
  });

  it('finds a page by a word that appears only in that page body, with the search the browser runs', async () => {
    // A word of at least 8 letters that only one page's text has, nor anything that shares its
    // stem (so Pagefind's stemming cannot tie it to another page).
    const words = site.pages.filter((p) => p.url !== '/docs/404').map((p) => ({ url: p.url, words: bodyWords(p.html) }));
    const others = (url: string) => words.filter((w) => w.url !== url).flatMap((w) => [...w.words]);
    let chosen: { url: string; word: string } | undefined;
    for (const url of ['/docs/install-synology', '/docs/restore-drill', '/docs/manifest', ...words.map((w) => w.url)]) {
      const mine = words.find((w) => w.url === url);
      if (!mine) continue;
      const elsewhere = others(url);
      const word = [...mine.words].sort().find((w) => !elsewhere.some((o) => o.startsWith(w.slice(0, 6))));
      if (word) {
        chosen = { url, word };
        break;
      }
    }
    expect(chosen, 'some page has a word of its own').toBeDefined();
    const { url, word } = chosen!;

    // Pagefind's own search module, as the search box loads it, fetching the index from the portal.
    const pagefind = (await import(/* @vite-ignore */ pathToFileURL(path.join(DOCS_SITE_DIR, 'pagefind/pagefind.js')).href)) as PagefindModule;
    await pagefind.options({ basePath: `${base}/docs/pagefind/`, baseUrl: '/docs/' });
    const search = await pagefind.search(word);
    const found = await Promise.all(search.results.map(async (r) => (await r.data()).url));
    // Pagefind also offers near misses (typos) when nothing matches exactly: the page comes first.
    expect(found[0], `search for "${word}" found ${found.join(', ') || 'nothing'}`).toBe(url);
    const none = await pagefind.search('zyxwvutsrqponm');
    expect(none.results).toEqual([]);
    await pagefind.destroy();
  });
});

interface PagefindModule {
  options(options: Record<string, unknown>): Promise<void>;
  search(term: string): Promise<{ results: { data(): Promise<{ url: string }> }[] }>;
  destroy(): Promise<void>;
}

/** GET with the request target exactly as given (no client normalises it), answer status and body. */
function rawGet(base: string, target: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.end(`GET ${target} HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text });
    });
  });
}
