import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { commonError } from '../shared/index.js';
import { ifNoneMatch } from './conditional.js';
import { securityHeaders } from './security.js';

/**
 * The documentation site at /docs: static files that `npm run build` renders from docs/*.md into
 * dist/docs-site (scripts/build-docs.ts), with Pagefind's search index and UI under
 * /docs/pagefind/. The API reference at /docs/api is registered elsewhere (openapi.ts); a static
 * route wins over this one's wildcard.
 *
 * The site is read into memory whole on its first request (about a megabyte): it is then served
 * as one consistent build, and an address names a file only if the build wrote it, so no request
 * path ever reaches the file system (no traversal, no symlink, no dot-file).
 */

/** Where the build writes the site: dist/docs-site, two folders up from this module in src/ and in dist/ alike. */
export const DOCS_SITE_DIR = fileURLToPath(new URL('../../dist/docs-site', import.meta.url));

/**
 * The portal's policy, plus 'wasm-unsafe-eval': Pagefind's search runs a WebAssembly module, which
 * browsers compile only when the policy says so. It permits no eval of JavaScript and no inline script.
 */
export const DOCS_CONTENT_SECURITY_POLICY = (() => {
  const base = securityHeaders(false)['content-security-policy'] ?? '';
  const policy = base.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'");
  if (policy === base) throw new Error(`docs-site: the portal's CSP has no "script-src 'self'" to extend: ${base}`);
  return policy;
})();

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
};

/** Pagefind names these by their content's hash: a new build gives new names. */
const IMMUTABLE = /^pagefind\/(?:(?:fragment|index|filter)\/|[^/]+\.pf_meta$)/;

interface SiteFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

/** Files by their path in the site (`index.html`, `pagefind/pagefind-ui.js`). */
type Site = ReadonlyMap<string, SiteFile>;

async function loadSite(dir: string): Promise<Site | null> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const site = new Map<string, SiteFile>();
  for (const entry of entries) {
    // Regular files only: a symbolic link is not followed, a dot-file (the build's stamp) not served.
    if (!entry.isFile()) continue;
    const name = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (name.split('/').some((part) => part.startsWith('.'))) continue;
    const body = await readFile(path.join(dir, name));
    site.set(name, {
      body,
      type: TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cacheControl: IMMUTABLE.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  return site;
}

/**
 * The file an address names: `/docs` and `/docs/` the index, `/docs/operations` the page
 * operations.html, `/docs/pagefind/pagefind.js` that file. Pages have no `.html` address of
 * their own, so each has one URL.
 */
export function siteFileName(rest: string): string | null {
  if (rest === '') return 'index.html';
  if (rest.endsWith('/') || rest.toLowerCase().endsWith('.html')) return null;
  return path.posix.extname(rest) === '' ? `${rest}.html` : rest;
}

export function docsSiteRoutes(app: FastifyInstance, options: { dir?: string } = {}): void {
  const dir = options.dir ?? DOCS_SITE_DIR;
  let loading: Promise<Site | null> | undefined;
  // A site not built yet is looked for again on the next request (`npm run build` while `dev` runs).
  const site = () =>
    (loading ??= loadSite(dir).then(
      (loaded) => {
        if (loaded === null) loading = undefined;
        return loaded;
      },
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    ));

  const serve = async (request: FastifyRequest, reply: FastifyReply, rest: string) => {
    const files = await site();
    const where = request.url.split('?')[0] ?? request.url;
    if (files === null) throw commonError('not_found', `The documentation site is not built: \`npm run build\` writes it (${where}).`);
    const name = siteFileName(rest);
    const file = name === null ? undefined : files.get(name);
    void reply.header('content-security-policy', DOCS_CONTENT_SECURITY_POLICY);
    if (!file) {
      // The site's page or the API's problem, by Accept: a shared cache must know.
      void reply.header('vary', 'Accept');
      const page = files.get('404.html');
      // A person (a browser) gets the site's own page, with its menu and search; a client the problem.
      if (page && /\btext\/html\b/.test(request.headers.accept ?? '')) {
        return reply.code(404).type(page.type).header('cache-control', 'no-cache').send(page.body);
      }
      throw commonError('not_found', `There is nothing at ${request.method} ${where}.`);
    }
    void reply.header('etag', file.etag).header('cache-control', file.cacheControl);
    if (ifNoneMatch(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  const config = { schema: { hide: true } };
  app.get('/docs', config, (request, reply) => serve(request, reply, ''));
  app.get<{ Params: { '*': string } }>('/docs/*', config, (request, reply) => serve(request, reply, request.params['*']));
}
