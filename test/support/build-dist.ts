import { execFile } from 'node:child_process';
import { access, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import type { DistBuild } from './dist.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this run's build of dist/ says how it went (dist.ts reads it); '' when dist/ is not built by the run. */
    distBuildFile: string;
  }
}

/**
 * Builds dist/ once per run with the project's own `npm run build`, so the tests that spawn the
 * portal or the CLI run the compiled artifacts operators run (and the compiled check worker),
 * without paying tsc's start-up in every spawn. The build (esbuild, Vite) checks no types and
 * takes about 10 s of CPU. TEST_SKIP_BUILD=1 says dist/ is already
 * fresh, say in CI right after `npm run build`.
 *
 * The build runs beside the tests rather than before them: most test files import the TypeScript
 * sources and never touch dist/, and they take the core tsc leaves idle. The few that spawn dist/
 * wait for it (dist.ts, called by server-process.ts and src/cli/test-support.ts), and the sequencer
 * (vitest.config.ts) starts none of them first. A failed build fails those tests with its output,
 * and fails the run when it ends, even one that ran no test needing dist/.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env['TEST_SKIP_BUILD'] === '1') {
    await access(path.join(ROOT, 'dist/main.js')).catch((err: unknown) => {
      throw new Error('TEST_SKIP_BUILD=1 but dist/ is not built: run `npm run build` first', { cause: err });
    });
    project.provide('distBuildFile', '');
    return undefined;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'mosis-dist-build-'));
  const statusFile = path.join(dir, 'status.json');
  project.provide('distBuildFile', statusFile);
  // Written whole and renamed into place: a test file reading it meanwhile (dist.ts) never sees it half-written.
  let reports = 0;
  const report = async (status: DistBuild) => {
    const next = `${statusFile}.${++reports}`;
    await writeFile(next, JSON.stringify(status));
    await rename(next, statusFile);
  };
  const buildAndReport = async (): Promise<DistBuild> => {
    await report({ state: 'building' });
    const status = await build();
    await report(status);
    return status;
  };
  await report({ state: 'building' });
  let building: Promise<DistBuild> = buildAndReport();
  // In watch mode the sources change between runs: without this the reruns would spawn the old build.
  project.onTestsRerun(async () => {
    building = buildAndReport();
    await building;
  });
  return async () => {
    const status = await building;
    await rm(dir, { recursive: true, force: true });
    if (status.state === 'failed') {
      // Vitest logs an error thrown here without failing the run: the exit code says it.
      process.exitCode = 1;
      throw new Error(status.error);
    }
  };
}

async function build(): Promise<DistBuild> {
  try {
    await run('npm', ['run', '--silent', 'build'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return { state: 'built' };
  } catch (err) {
    // A broken build fails the run: otherwise the process tests would run stale code, or none.
    const { stdout = '', stderr = '', message } = err as Error & { stdout?: string; stderr?: string };
    return { state: 'failed', error: `npm run build failed, so the tests that spawn dist/ cannot run:\n${stdout}${stderr || message}` };
  }
}
