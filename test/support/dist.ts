import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';

/**
 * The run builds dist/ beside the first tests (build-dist.ts): whatever spawns dist/ (the portal,
 * the CLI) waits here until that build has finished, and fails with the build's output if it failed.
 */

/** What build-dist.ts writes to the run's status file. */
export type DistBuild = { state: 'building' } | { state: 'built' } | { state: 'failed'; error: string };

const POLL_MS = 100;

function status(): DistBuild {
  const file = inject('distBuildFile');
  // TEST_SKIP_BUILD=1: dist/ was built before the run.
  if (file === '') return { state: 'built' };
  return JSON.parse(readFileSync(file, 'utf8')) as DistBuild;
}

function settled(build: DistBuild): boolean {
  if (build.state === 'failed') throw new Error(build.error);
  return build.state === 'built';
}

/** Resolves once dist/ is built. */
export async function distBuilt(): Promise<void> {
  while (!settled(status())) await sleep(POLL_MS);
}

/**
 * Returns once dist/ is built, blocking this test process meanwhile: for callers that spawn
 * synchronously. Those that can wait asynchronously call distBuilt() first, so this finds it done.
 */
export function distBuiltSync(): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!settled(status())) Atomics.wait(pause, 0, 0, POLL_MS);
}
