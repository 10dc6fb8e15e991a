import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { commonError } from '../shared/index.js';
import { ifNoneMatch } from './conditional.js';

/**
 * The API reference at /docs/api: Swagger UI's files from the swagger-ui-dist package, served as
 * they are (no CDN: a NAS may have no internet), pointed at /v1/openapi.json. The files are read
 * from the package only when someone opens the page; nothing of them is loaded at start.
 */
const require = createRequire(import.meta.url);
const { version } = require('swagger-ui-dist/package.json') as { version: string };
const DIST_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The only files served, by name: a request names one of these or gets a 404. */
const FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const STATIC = '/docs/api/static';

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>Mosis Portal API</title>
<link rel="stylesheet" href="${STATIC}/swagger-ui.css">
<link rel="stylesheet" href="${STATIC}/index.css">
<link rel="icon" type="image/png" href="${STATIC}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="${STATIC}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${STATIC}/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="${STATIC}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
<script src="${STATIC}/init.js" charset="UTF-8"></script>
</body>
</html>
`;

// A file, not an inline script: the portal's CSP allows scripts from 'self' only.
const INIT = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null,
  });
};
`;

export function apiReferenceRoutes(app: FastifyInstance): void {
  const config = { schema: { hide: true } };
  const page = (_request: unknown, reply: FastifyReply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE);
  app.get('/docs/api', config, page);
  app.get('/docs/api/', config, page);
  app.get<{ Params: { file: string } }>(`${STATIC}/:file`, config, (request, reply) => {
    const { file } = request.params;
    const type = file === 'init.js' ? 'text/javascript; charset=utf-8' : Object.hasOwn(FILES, file) ? FILES[file] : undefined;
    // Checked before the name goes anywhere near a header.
    if (type === undefined) throw commonError('not_found', 'There is no such file of the API reference.');
    // The package's version names its files' content: a new version gives a new tag.
    const etag = `"swagger-ui-${version}-${file}"`;
    void reply.header('etag', etag).header('cache-control', 'public, max-age=86400');
    if (file === 'init.js') return reply.type(type).send(INIT);
    if (ifNoneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.type(type).send(createReadStream(path.join(DIST_DIR, file)));
  });
}
