/**
 * Builds the server into dist/ with esbuild (the CLI is scripts/build-cli.ts's): each entry point (the command and
 * every worker thread's module) at the place its source has below src/, the code they share in
 * dist/chunks/, and what only some commands or requests need (a verb, the image codec, the OAuth
 * client, Swagger UI) in chunks loaded when first imported.
 *
 * Why a bundle rather than tsc's file-per-module output: the portal's start was mostly Node
 * finding, reading and compiling about 1 100 small modules (kysely alone is 263 files, zod 95).
 * Bundled, the dependencies that are plain JavaScript load from a few files: the start to /readyz
 * takes about half as long, and the idle RSS does not grow (bench/footprint.ts measures both).
 *
 * Left out of the bundle, loaded from node_modules as installed: native modules (their binaries
 * sit next to their JavaScript), and packages that find their own files on disk at run time
 * (piscina starts its worker from its own folder, css-tree reads its grammar data with require(),
 * swagger-ui-dist and Litestream are files the portal serves or runs). The process, CLI and
 * browser tests run this build, so a dependency that breaks when bundled fails them. Type checking is `npm run typecheck`'s job; esbuild only strips types.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { nodeBundle, ROOT } from './node-bundle.js';

const OUT = path.join(ROOT, 'dist');

/** Every module a worker thread starts from (src/shared/worker-module.ts names them by these paths). */
const WORKERS = [
  'backup/sqlite-thread',
  'features/store/index-worker',
  'features/store/search-worker',
  'features/telemetry/rollup-thread',
  'features/telemetry/telemetry-thread',
  'package/check-worker',
  'storage/blob-usage-thread',
];

const EXTERNAL = ['better-sqlite3', 'sharp', '@node-rs/argon2', 'piscina', 'css-tree', 'swagger-ui-dist', '@flydotio/litestream', 'pg', 'pg-native'];

// Whatever the earlier build left (tsc's per-module files, older chunks) would otherwise linger.
for (const entry of ['main.js', 'main.js.map', 'chunks', 'cli', 'backup', 'features', 'package', 'storage', 'db', 'http', 'jobs', 'events', 'verbs', 'config', 'shared']) {
  await rm(path.join(OUT, entry), { recursive: true, force: true });
}

await esbuild.build({ ...nodeBundle({ entries: ['main', ...WORKERS], outdir: OUT, external: EXTERNAL }), sourcemap: true });

// The common-password list, at the place src/features/accounts/passwords.ts looks for it.
await mkdir(path.join(OUT, 'features/accounts'), { recursive: true });
await copyFile(path.join(ROOT, 'src/features/accounts/common-passwords.txt'), path.join(OUT, 'features/accounts/common-passwords.txt'));
