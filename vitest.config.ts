import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/** A test file that spawns the built dist/ (the portal's process tests, the CLI's): it waits for the run's build. */
const SPAWNS_DIST = /support\/server-process\.js'|\bcliScratch\(/;

/** Each file's seconds in a whole run, committed (scripts/test-durations.ts writes it). */
const DURATIONS = JSON.parse(readFileSync(path.join(import.meta.dirname, 'test/durations.json'), 'utf8')) as Record<string, number>;
/** A file in neither: new, so run first (its length is unknown, and it is the one being worked on). */
const UNKNOWN_SECONDS = 1e6;

/**
 * The files that failed last time first, then the longest first, which keeps the workers busy to
 * the end: by Vitest's cache of the last run here, else by test/durations.json (a clean clone has
 * no cache, and Vitest would then order by size: a 13 s file started last), else first (a new
 * file, its length unknown). Except that the files starting with the run are ones that do not
 * need dist/: the run builds it beside them (test/support/build-dist.ts), and a file that spawns
 * it would wait for the build on a worker the others could use.
 */
class BuildAwareSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const last = (file: TestSpecification) => this.ctx.cache.getFileTestResults(`${file.project.name}:${path.relative(root, file.moduleId)}`);
    const seconds = (file: TestSpecification) => {
      const known = last(file)?.duration;
      return known === undefined ? (DURATIONS[path.relative(root, file.moduleId)] ?? UNKNOWN_SECONDS) : known / 1000;
    };
    const failed = (file: TestSpecification) => (last(file)?.failed ? 1 : 0);
    const sorted = [...files].sort((a, b) => failed(b) - failed(a) || seconds(b) - seconds(a));
    const spawnsDist = (file: TestSpecification) => SPAWNS_DIST.test(readFileSync(file.moduleId, 'utf8'));
    const first: TestSpecification[] = [];
    const rest: TestSpecification[] = [];
    for (const file of sorted) (first.length < this.ctx.config.maxWorkers && !spawnsDist(file) ? first : rest).push(file);
    return Promise.resolve([...first, ...rest]);
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // build-dist: the process and CLI tests spawn the compiled dist/, built once per run, beside the first tests.
    globalSetup: ['test/support/global-setup.ts', 'test/support/build-dist.ts'],
    sequence: { sequencer: BuildAwareSequencer },
    // argon2 and package builds make some tests take a few seconds on 2 cores.
    // The AWS SDK (S3 store tests) warns on every client that Node 20 support ends; said once here, not per test.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One test process loads the portal's modules once for all its files instead of once per file
    // (a minute of the run on two cores). The files share no state: each test starts its own
    // portal on its own database, and nothing mocks or stubs a module.
    isolate: false,
    // One file more than there are cores (Vitest's default is one fewer): much of a file's time is
    // spent waiting on spawned portals, sockets, real timeouts and PostgreSQL, which the others fill.
    // Measured on 2 cores, the whole suite on a quiet machine: 2 files at once 195 s, 3 at once 178 s
    // (2026-12-01). PostgreSQL tests take databases from a pool that keeps concurrent files apart
    // (test/support/pg-databases.ts).
    maxWorkers: availableParallelism() + 1,
  },
});
