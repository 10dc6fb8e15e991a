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
  },
});
