import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // build-dist: the process and CLI tests spawn the compiled dist/, built once per run here.
    globalSetup: ['test/support/global-setup.ts', 'test/support/build-dist.ts'],
    // argon2 and package builds make some tests take a few seconds on 2 cores.
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
