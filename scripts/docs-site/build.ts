import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pagefind from 'pagefind';
import { renderPage, SITE_SCRIPT } from './layout.js';
import { checkLinks, type BrokenLink, type SitePage } from './links.js';
import { createMarkdown, renderEnv } from './markdown.js';
import { INCLUDE_TABLE, INDEX_SOURCE, readNav, readSources, resolveIncludes, type SourcePage } from './site.js';

/**
 * Builds the docs site: docs/**.md rendered into one HTML file per page with the layout, the
 * site's stylesheet and script, docs/'s other files, and Pagefind's search index and UI under
 * pagefind/, all static, served by the portal at /docs (src/http/docs-site.ts).
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
/** Where `npm run build` writes the site: inside dist/, which the container copies. */
export const DEFAULT_OUT = path.join(ROOT, 'dist/docs-site');
const ASSETS = path.join(HERE, 'assets');
/** Records what the site was built from: an unchanged tree is not built again. */
const STAMP = '.inputs-sha256';

/** Routes of the portal outside the site that pages may link to. */
export const PORTAL_PATHS = ['/docs/api', '/v1/openapi.json', '/.well-known/jwks.json', '/.well-known/mosis-store-keys.json', '/healthz', '/readyz', '/metrics'];

export interface BuildOptions {
  root?: string;
  out?: string;
  /** Build even when the inputs have not changed since the last build. */
  force?: boolean;
}

export interface BuildReport {
  out: string;
  /** False when the site in `out` was already built from the same inputs. */
  built: boolean;
  pages: number;
  broken: BrokenLink[];
  /** Pages of docs/ the navigation (docs/README.md) does not list. */
  unlisted: string[];
  ms: number;
}

export async function buildDocsSite(options: BuildOptions = {}): Promise<BuildReport> {
  const started = performance.now();
  const root = options.root ?? ROOT;
  const out = options.out ?? DEFAULT_OUT;
  const { pages, assets } = await readSources(root);
  const index = pages.find((page) => page.source === INDEX_SOURCE);
  if (!index) throw new Error(`${INDEX_SOURCE} is missing: it is the site's index and its navigation`);
  const nav = readNav(index.markdown);
  const listed = new Set(nav.flatMap((section) => section.items.map((item) => item.href.split('#')[0])));
  const unlisted = pages.filter((page) => page !== index && !listed.has(page.url)).map((page) => page.source);

  const stamp = await inputsHash(root, pages, assets);
  if (!options.force && (await readFile(path.join(out, STAMP), 'utf8').catch(() => '')) === stamp) {
    return { out, built: false, pages: pages.length, broken: [], unlisted, ms: performance.now() - started };
  }

  // Built beside the old site and swapped in at the end: a failed build leaves the old one whole.
  const staging = `${out}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.join(staging, 'assets'), { recursive: true });
  try {
    const md = createMarkdown();
    const built: SitePage[] = [];
    for (const page of pages) {
      const html = await renderSourcePage(root, md, page, nav);
      built.push({ url: page.url, html });
      await writeFile(path.join(staging, htmlFile(page.url)), html);
    }
    const notFound = renderPage({
      url: '/docs/404',
      title: 'Page not found',
      source: null,
      nav,
      searchable: false,
      body: '<h1 id="page-not-found">Page not found</h1>\n<p>No page of the documentation has this address. Search above, pick a page from the menu, or start at <a href="/docs">the index</a>.</p>',
    });
    await writeFile(path.join(staging, '404.html'), notFound);
    for (const file of await readdir(ASSETS)) await copyFile(path.join(ASSETS, file), path.join(staging, 'assets', file));
    await writeFile(path.join(staging, 'assets', 'docs.js'), SITE_SCRIPT);
    for (const asset of assets) {
      const target = path.join(staging, asset.slice('docs/'.length));
      await mkdir(path.dirname(target), { recursive: true });
      await copyFile(path.join(root, asset), target);
    }
    await searchIndex(built, path.join(staging, 'pagefind'));

    const files = (await listFiles(staging)).map((file) => `/docs/${file}`);
    const broken = checkLinks([...built, { url: '/docs/404', html: notFound }], {
      files,
      portalPaths: PORTAL_PATHS,
      repositoryFile: (file) => isFile(path.join(root, file)),
    });
    await writeFile(path.join(staging, STAMP), stamp);
    await swapIn(staging, out);
    return { out, built: true, pages: pages.length, broken, unlisted, ms: performance.now() - started };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Replaces `out` by `staging`; a build running beside this one (two test runs) may swap its own in between. */
async function swapIn(staging: string, out: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await rm(out, { recursive: true, force: true });
    try {
      await rename(staging, out);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt === 3 || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw err;
    }
  }
}

/** `/docs` → `index.html`, `/docs/a/b` → `a/b.html`: what the portal serves for each address. */
export function htmlFile(url: string): string {
  return url === '/docs' ? 'index.html' : `${url.slice('/docs/'.length)}.html`;
}

async function renderSourcePage(root: string, md: ReturnType<typeof createMarkdown>, page: SourcePage, nav: ReturnType<typeof readNav>): Promise<string> {
  const env = renderEnv(page.source);
  let body = '';
  for (const part of await resolveIncludes(root, page)) {
    env.source = part.source;
    body += md.render(part.markdown, env);
  }
  const title = env.headings.find((heading) => heading.level === 1)?.text ?? page.source;
  return renderPage({ url: page.url, title, source: page.source, body, nav, searchable: true });
}

/** Pagefind's index of the pages' main text (the layout marks it), written with its search UI. */
async function searchIndex(pages: SitePage[], outputPath: string): Promise<void> {
  const { index, errors } = await pagefind.createIndex({ forceLanguage: 'en' });
  try {
    if (!index) throw new Error(`pagefind: ${errors.join('; ')}`);
    for (const page of pages) {
      // Relative to the site: the UI prefixes the folder it loads the index from (/docs/).
      const added = await index.addHTMLFile({ url: page.url.slice('/docs'.length) || '/', content: page.html });
      if (added.errors.length > 0) throw new Error(`pagefind: ${page.url}: ${added.errors.join('; ')}`);
    }
    const written = await index.writeFiles({ outputPath });
    if (written.errors.length > 0) throw new Error(`pagefind: ${written.errors.join('; ')}`);
  } finally {
    await pagefind.close();
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

/** The sources, the included files, this builder and Pagefind's version: what the output depends on. */
async function inputsHash(root: string, pages: SourcePage[], assets: string[]): Promise<string> {
  const hash = createHash('sha256');
  const add = (name: string, data: string | Buffer) => hash.update(`${name}\0${data.length}\0`).update(data);
  for (const page of pages) add(page.source, page.markdown);
  for (const asset of assets) add(asset, await readFile(path.join(root, asset)));
  // Included tables may come from outside docs/ (the README's configuration).
  for (const page of pages) {
    for (const line of page.markdown.split('\n')) {
      const include = INCLUDE_TABLE.exec(line);
      if (!include) continue;
      const file = path.posix.join(path.posix.dirname(page.source), include[1] ?? '');
      add(`include/${file}`, await readFile(path.join(root, file)).catch(() => Buffer.alloc(0)));
    }
  }
  for (const file of (await readdir(HERE, { recursive: true })).sort()) {
    const full = path.join(HERE, file);
    if (isFile(full)) add(`builder/${file}`, await readFile(full));
  }
  add('pagefind', await readFile(path.join(root, 'node_modules/pagefind/package.json')).catch(() => Buffer.alloc(0)));
  return hash.digest('hex');
}
