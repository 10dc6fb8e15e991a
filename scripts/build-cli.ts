/**
 * Builds the `mosis` CLI into packages/cli/dist/: the @mosis/cli package a developer installs
 * (`npm pack -w @mosis/cli` makes its tarball; docs/cli.md says how it is handed out). Its sources
 * stay in src/cli/ beside src/package/, the .mosis format module the portal runs the same checks
 * with, and the typed API client packages/api-client/ it shares with the web UI: esbuild bundles
 * all of that, commander and the format's parsers into one entry, the check worker's entry and
 * their shared chunks, so the package depends on two packages only and on nothing of the server
 * (no Fastify, no database driver, no image codec). The packed package lands in
 * dist/downloads/mosis-cli.tgz, which every portal serves.
 *
 * Left out of the bundle, as for the server (scripts/build-server.ts says why): piscina, which
 * starts its worker from its own folder, and css-tree, which reads its grammar data with require().
 * They are the dependencies packages/cli/package.json declares, at the exact versions the bundle
 * was built and tested with; a new import outside the bundle's reach fails this build rather than
 * an installed CLI.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { nodeBundle, ROOT } from './node-bundle.js';

const PACKAGE = path.join(ROOT, 'packages/cli');
const OUT = path.join(PACKAGE, 'dist');
const EXTERNAL = ['piscina', 'css-tree'];

const manifest = JSON.parse(await readFile(path.join(PACKAGE, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
const declared = Object.keys(manifest.dependencies ?? {}).sort();
if (JSON.stringify(declared) !== JSON.stringify([...EXTERNAL].sort())) {
  throw new Error(`packages/cli/package.json must depend on exactly what the bundle leaves out (${EXTERNAL.join(', ')}), not ${declared.join(', ')}`);
}

await rm(OUT, { recursive: true, force: true });
// The worker at the path src/shared/worker-module.ts names it by, below the package's dist/.
const result = await esbuild.build({ ...nodeBundle({ entries: ['cli/main', 'package/check-worker'], outdir: OUT, external: EXTERNAL }), metafile: true });

// Node's own modules and the two declared packages are all an installed CLI may load.
const loaded = new Set(Object.values(result.metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path)));
const strays = [...loaded].filter((name) => !name.startsWith('node:') && !builtinModules.includes(name) && !EXTERNAL.some((dep) => name === dep || name.startsWith(`${dep}/`)));
if (strays.length > 0) throw new Error(`the CLI bundle loads packages it does not declare: ${strays.join(', ')}`);

// The package itself, for the portal to hand out at /downloads/mosis-cli.tgz (src/http/cli-download.ts).
const DOWNLOADS = path.join(ROOT, 'dist/downloads');
await mkdir(DOWNLOADS, { recursive: true });
const packed = await promisify(execFile)('npm', ['pack', '--json', '--silent', '--workspace', '@mosis/cli', '--pack-destination', DOWNLOADS], { cwd: ROOT });
const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
if (tarball === undefined) throw new Error(`npm pack wrote no tarball: ${packed.stdout}`);
await rename(path.join(DOWNLOADS, tarball.filename), path.join(DOWNLOADS, 'mosis-cli.tgz'));
