import type { FastifyInstance } from 'fastify';
import { commonError, packageFile } from '../shared/index.js';
import { builtFilesLoader } from './built-files.js';
import { ifNoneMatch } from './conditional.js';

/**
 * GET /downloads/mosis-cli.tgz: the `mosis` CLI as an npm package, packed by `npm run build`
 * (scripts/build-cli.ts) from the same sources as this portal, so a developer installs the CLI that
 * matches the portal's API with `npm install --global <portal>/downloads/mosis-cli.tgz`.
 */
export const DOWNLOADS_DIR = packageFile('dist/downloads');
export const CLI_TARBALL = 'mosis-cli.tgz';

export function cliDownloadRoutes(app: FastifyInstance, options: { dir?: string } = {}): void {
  // `complete`: a folder read while the build packs is looked at again at the next request.
  const downloads = builtFilesLoader(options.dir ?? DOWNLOADS_DIR, { immutable: () => false, complete: (files) => files.has(CLI_TARBALL) });
  app.get(`/downloads/${CLI_TARBALL}`, { schema: { hide: true } }, async (request, reply) => {
    const file = (await downloads())?.get(CLI_TARBALL);
    if (!file) throw commonError('not_found', 'The CLI package is not built: `npm run build` packs it.');
    void reply.header('etag', file.etag).header('cache-control', file.cacheControl).header('content-disposition', `attachment; filename="${CLI_TARBALL}"`);
    if (ifNoneMatch(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
    return reply.type('application/gzip').send(file.body);
  });
}
