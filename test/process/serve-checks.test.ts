import { readFile } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { makePackage } from '../support/packages.js';
import { openUpload, setUp, until, versionStatuses, ID } from '../support/portal-process.js';
import { prepareDatabase, type TestDialect } from '../support/portal.js';
import { startServer } from '../support/server-process.js';

// A check job the process is killed before it runs; a file of its own so it runs beside the other
// serve-*.test.ts files instead of after them.

const postgres = inject('postgresUrl') !== null;

// Both dialects: what a killed process leaves in the database.
for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  describe.skipIf(dialect === 'postgres' && !postgres)(`the mosis-portal process [${dialect}]`, () => {
    it('checks a version accepted before a kill -9 once the portal is back: it ends pending_review, never stuck processing', async () => {
      const database = await prepareDatabase(dialect);
      const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
      try {
        // Serving only (no worker): the upload is accepted and its check job waits in the database.
        const server = await startServer({ ...env, JOBS_ENABLED: 'false' });
        const { token, key, appId } = await setUp(server);
        const { req, answer } = openUpload(server, appId, token);
        req.end(await readFile(await makePackage({ id: ID, key })));
        expect((await answer).status).toBe(202);
        server.child.kill('SIGKILL');
        await server.exited;
        expect(await versionStatuses(database.databaseUrl, database.dataDir)).toEqual(['processing']);

        const again = await startServer(env);
        await until(async () => !(await versionStatuses(database.databaseUrl, database.dataDir)).includes('processing'), 'the check job to run after the restart');
        expect(await versionStatuses(database.databaseUrl, database.dataDir)).toEqual(['pending_review']);
        again.child.kill('SIGTERM');
        expect((await again.exited).code).toBe(0);
      } finally {
        await database.cleanup();
      }
    });
  });
}
