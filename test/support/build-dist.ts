import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/**
 * Builds dist/ once per run with the project's own `npm run build`, so the tests that spawn the
 * portal or the CLI run the compiled artifacts operators run (and the compiled check worker),
 * without paying tsx's start-up in every spawn. The build is incremental (its state sits in
 * dist/), so an unchanged tree rebuilds in a few seconds. TEST_SKIP_BUILD=1 says dist/ is already
 * fresh, say in CI right after `npm run build`.
 */
export default async function setup(project: TestProject): Promise<void> {
  if (process.env['TEST_SKIP_BUILD'] === '1') {
    await access(path.join(ROOT, 'dist/main.js')).catch((err: unknown) => {
      throw new Error('TEST_SKIP_BUILD=1 but dist/ is not built: run `npm run build` first', { cause: err });
    });
    return;
  }
  await build();
  // In watch mode the sources change between runs: without this the reruns would spawn the old build.
  project.onTestsRerun(build);
}

async function build(): Promise<void> {
  try {
    await run('npm', ['run', '--silent', 'build'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    // A broken build fails the run: otherwise the process tests would run stale code, or none.
    const { stdout = '', stderr = '', message } = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed, so the tests that spawn dist/ cannot run:\n${stdout}${stderr || message}`, { cause: err });
  }
}
