import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { commonError, packageFile } from '../shared/index.js';
import { builtFilesLoader } from './built-files.js';
import { ifNoneMatch } from './conditional.js';
import { securityHeaders } from './security.js';
import { webAppErrors } from './web-app.errors.js';

/**
 * The web UI at `/`: the single-page app that `npm run build` bundles from web/ into dist/web
 * (Vite), with a history fallback, so /apps/…/versions/… in a mail opens the page it names.
 *
 * Like the docs site (docs-site.ts) the build is read into memory once, on its first request (a
 * few hundred kilobytes; built-files.ts): no request path reaches the file system. It registers
 * no route: it answers the GET and HEAD requests no route matched (Fastify's not-found path), so
 * the API's route table, its 405s and its JSON 404s under /v1 stay as they were. Page addresses
 * answer index.html to clients that take HTML (browsers, curl); one that sends no Accept header
 * keeps the problem+json 404.
 */

/** Where the build writes the web UI. */
export const WEB_APP_DIR = packageFile('dist/web');

/**
 * The portal's policy, plus `blob:` images: the listing editor previews an icon or a screenshot
 * before it is uploaded. Still no inline script and no eval (Vite's build has neither).
 */
export const WEB_APP_CONTENT_SECURITY_POLICY = (() => {
  const base = securityHeaders(false)['content-security-policy'] ?? '';
  const policy = base.replace("img-src 'self' data:", "img-src 'self' data: blob:");
  if (policy === base) throw new Error(`web-app: the portal's CSP has no "img-src 'self' data:" to extend: ${base}`);
  return policy;
})();

/** Paths that belong to the API and the portal's own pages: an unknown one there keeps its problem+json 404. */
const NOT_THE_WEB_APP = /^\/(?:v1|docs|healthz|readyz|metrics|\.well-known)(?:\/|$)/;

/**
 * A browser opening a page sends `Accept: text/html…`, and `curl` and fetch() send `*\/*`; a client
 * that sends no Accept at all (a script, a health probe) gets the API's 404 for an address no route
 * has, as before the web UI existed.
 */
function takesHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return accept !== undefined && /\btext\/html\b|\*\/\*/.test(accept);
}

export function webAppRoutes(app: FastifyInstance, options: { dir?: string } = {}): void {
  const dir = options.dir ?? WEB_APP_DIR;
  // Vite names everything under assets/ by its content's hash: a new build gives new names. A
  // folder without index.html is a build that failed half-way: as good as none.
  const webApp = builtFilesLoader(dir, { immutable: (name) => name.startsWith('assets/'), complete: (files) => files.has('index.html') });

  const serve = async (request: FastifyRequest, reply: FastifyReply, where: string): Promise<FastifyReply> => {
    const files = await webApp();
    // What an address answers depends on Accept (the page or the API's 404): a shared cache must know.
    void reply.header('vary', 'Accept');
    if (files === null) {
      if (!takesHtml(request)) throw commonError('not_found', `There is nothing at ${request.method} ${where}.`);
      throw webAppErrors.error('web_ui_not_built', `The web UI is not built: \`npm run build\` writes it into dist/web (${where}).`);
    }
    let file = files.get(where.slice(1));
    if (!file) {
      // A hashed asset that is not there is a page of an older build asking: a 404, never the page.
      // A client that does not take HTML (a script, a probe) is not opening a page: the API's 404.
      if (where.startsWith('/assets/') || !takesHtml(request)) throw commonError('not_found', `There is nothing at ${request.method} ${where}.`);
      file = files.get('index.html');
    }
    if (!file) throw commonError('not_found', `There is nothing at ${request.method} ${where}.`);
    void reply.code(200).header('content-security-policy', WEB_APP_CONTENT_SECURITY_POLICY).header('etag', file.etag).header('cache-control', file.cacheControl);
    if (ifNoneMatch(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  // Runs for every request, routed or not; answers only those no route took (is404) that the web UI may own.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404 || (request.method !== 'GET' && request.method !== 'HEAD')) return undefined;
    const where = request.url.split('?')[0] ?? request.url;
    if (NOT_THE_WEB_APP.test(where)) return undefined;
    return serve(request, reply, where);
  });
}
