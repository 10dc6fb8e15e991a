import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { commonError, packageFile } from '../shared/index.js';
import { builtFilesLoader } from './built-files.js';
import { ifNoneMatch } from './conditional.js';
import { securityHeaders } from './security.js';

/**
 * The documentation site at /docs: static files that `npm run build` renders from docs/*.md into
 * dist/docs-site (scripts/build-docs.ts), with Pagefind's search index and UI under
 * /docs/pagefind/. The API reference at /docs/api is registered elsewhere (openapi.ts); a static
 * route wins over this one's wildcard.
 *
 * The site is read into memory whole on its first request (about a megabyte; built-files.ts): no
 * request path ever reaches the file system.
 */

/** Where the build writes the site. */
export const DOCS_SITE_DIR = packageFile('dist/docs-site');

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

/** Pagefind names these by their content's hash: a new build gives new names. */
const IMMUTABLE = /^pagefind\/(?:(?:fragment|index|filter)\/|[^/]+\.pf_meta$)/;

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
  const site = builtFilesLoader(dir, { immutable: (name) => IMMUTABLE.test(name) });

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
