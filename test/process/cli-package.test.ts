import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { distBuilt } from '../support/dist.js';

// The CLI as a Mosis developer gets it: `npm pack` of the @mosis/cli workspace, installed with
// `npm install -g` into an empty prefix, then run from that prefix's bin/ as a person would.
// What it carries is checked too: the bundle and two dependencies, nothing of the server.

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const scratch = await mkdtemp(path.join(os.tmpdir(), 'mosis-cli-package-'));

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Every package folder under a node_modules tree, scoped ones by their full name. */
async function installedPackages(nodeModules: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(nodeModules, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const scoped = entry.name.startsWith('@') ? (await readdir(path.join(nodeModules, entry.name))).map((name) => `${entry.name}/${name}`) : [entry.name];
    for (const name of scoped) names.push(name, ...(await installedPackages(path.join(nodeModules, name, 'node_modules'))));
  }
  return names;
}

it('packs into a tarball that installs on its own into an empty prefix, without the server, and runs init, build and validate', async () => {
  await distBuilt();
  const packed = await run('npm', ['pack', '--json', '--pack-destination', scratch, '--workspace', '@mosis/cli'], { cwd: ROOT });
  const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = tarball?.files.map((file) => file.path) ?? [];
  expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/cli/main.js', 'dist/package/check-worker.js']));
  expect(files.filter((file) => !file.startsWith('dist/') && file !== 'package.json' && file !== 'README.md')).toEqual([]);

  // The dependencies come from npm's cache when `npm ci` put them there; the registry otherwise.
  const prefix = path.join(scratch, 'prefix');
  await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(scratch, tarball?.filename ?? '')], { cwd: scratch });
  const installed = await installedPackages(path.join(prefix, 'lib', 'node_modules'));
  expect(installed).toContain('@mosis/cli');
  expect(installed).toEqual(expect.arrayContaining(['piscina', 'css-tree']));
  for (const serverPart of ['fastify', 'better-sqlite3', 'pg', 'sharp', 'kysely', 'mosis-portal']) expect(installed).not.toContain(serverPart);

  const mosis = (args: string[]) => run(path.join(prefix, 'bin', 'mosis'), args, { cwd: scratch, env: { PATH: process.env['PATH'] ?? '', MOSIS_HOME: path.join(scratch, 'home') } });
  expect((await mosis(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  await mosis(['init', 'hello', '--id', 'com.example.hello']);
  await mosis(['keys', 'generate']);
  const built = await mosis(['build', 'hello', '--out', 'hello.mosis']);
  expect(built.stdout).toContain('Checks: 0 errors');
  const validated = await mosis(['validate', 'hello.mosis', '--json']);
  expect(JSON.parse(validated.stdout)).toMatchObject({ ok: true, manifest: { id: 'com.example.hello' } });
}, 120_000);
