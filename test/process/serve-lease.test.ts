import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { makePackage } from '../support/packages.js';
import { openUpload, setUp, until, versionStatuses, ID } from '../support/portal-process.js';
import { prepareDatabase, type TestDialect } from '../support/portal.js';
import { startServer } from '../support/server-process.js';

// A check job the process is killed in the middle of, run again once its lease passes; a file of
// its own so it runs beside the other serve-*.test.ts files instead of after them.

// The lease is the job queue's, the same on both dialects (test/jobs covers them); here the process dies for real.
describe('the mosis-portal process, its check jobs [sqlite]', () => {
  const dialect: TestDialect = 'sqlite';

  it('after a kill -9 in the middle of a check job, runs the check again once the lease has passed: the version ends checked', async () => {
    const database = await prepareDatabase(dialect);
    // A short lease, so the killed instance's claim passes within the test.
    const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, JOBS_LEASE_SECONDS: '3' };
    const checkJob = async () => {
      const db = openDatabase(loadConfig(env).database);
      try {
        return await db.db.selectFrom('jobs').select(['state', 'attempts']).where('kind', '=', 'versions.check').executeTakeFirst();
      } finally {
        await db.close();
      }
    };
    try {
      const server = await startServer(env);
      const { token, key, appId } = await setUp(server);
      // About 2 MiB of Lua: a second or more of checks, long enough to be killed in.
      const lua = Array.from({ length: 40_000 }, (_, i) => `local v${i} = { name = "item ${i}", size = ${i} * 2 }`).join('\n');
      const { req, answer } = openUpload(server, appId, token);
      req.end(await readFile(await makePackage({ id: ID, key, files: { 'assets/scripts/heavy.lua': lua } })));
      expect((await answer).status).toBe(202);
      await until(async () => (await checkJob())?.state === 'running', 'the check job to start');
      server.child.kill('SIGKILL');
      await server.exited;
      // Killed mid-check: the job is still claimed by the dead process, the version unchecked.
      expect(await checkJob()).toEqual({ state: 'running', attempts: 1 });
      expect(await versionStatuses(database.databaseUrl, database.dataDir)).toEqual(['processing']);

      const again = await startServer(env);
      await until(async () => !(await versionStatuses(database.databaseUrl, database.dataDir)).includes('processing'), 'the check to run again');
      expect(await versionStatuses(database.databaseUrl, database.dataDir)).toEqual(['pending_review']);
      expect(await checkJob()).toEqual({ state: 'done', attempts: 2 });
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    } finally {
      await database.cleanup();
    }
  });
});
