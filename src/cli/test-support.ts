import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { distBuilt } from '../../test/support/dist.js';

/**
 * Runs the real `mosis` binary for the cli-*.test.ts files: the bundled packages/cli/dist/cli/main.js, which the
 * global setup (test/support/build-dist.ts) builds once per run, in a scratch folder of the test
 * file's own, with MOSIS_HOME kept inside it.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mainScript = path.join(repoRoot, 'packages/cli/dist/cli/main.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runMosis(args: readonly string[], options: { cwd: string; home: string; env?: Record<string, string> }): Promise<Run> {
  // The run builds dist/ beside the first tests (test/support/build-dist.ts).
  await distBuilt();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainScript, ...args],
      { cwd: options.cwd, env: { ...process.env, MOSIS_HOME: options.home, ...options.env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A scratch folder for one test file, MOSIS_HOME inside it, made before its tests and removed after
 * them, and `mosis` run there. Call it at the top of the file: it registers the file's hooks.
 */
export function cliScratch(): { paths: { scratch: string; home: string }; mosis: (args: readonly string[], options?: { cwd?: string; env?: Record<string, string> }) => Promise<Run> } {
  const paths = { scratch: '', home: '' };
  beforeAll(async () => {
    paths.scratch = await mkdtemp(path.join(os.tmpdir(), 'mosis-cli-'));
    paths.home = path.join(paths.scratch, 'home');
  });
  afterAll(async () => {
    await rm(paths.scratch, { recursive: true, force: true });
  });
  const mosis = (args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}) => runMosis(args, { cwd: options.cwd ?? paths.scratch, home: paths.home, env: options.env });
  return { paths, mosis };
}
