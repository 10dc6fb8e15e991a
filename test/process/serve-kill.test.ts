import { readFile } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { makePackage } from '../support/packages.js';
import { openUpload, setUp, stagingFiles, until, versionStatuses, ID } from '../support/portal-process.js';
import { prepareDatabase, type TestDialect } from '../support/portal.js';
import { startServer } from '../support/server-process.js';

// What a kill -9 leaves behind and what the next start makes of it: an upload accepted whose check
// job had not run yet, and an upload cut off mid-stream. One killed process and one restart serve
// both (the two uploads are independent), so the scenario costs two portal starts, not four; a file
// of its own so it runs beside the other serve-*.test.ts files instead of after them.

const postgres = inject('postgresUrl') !== null;

// Both dialects: the accepted upload's row and check job were committed just before the kill, and
// what a killed process leaves committed in the database (and how its job is claimed again) is the
// database's. The upload cut off mid-stream never reached the database (the body is staged on disk
// before its one transaction), so on PostgreSQL that half comes along for free, not for its own sake.
for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  describe.skipIf(dialect === 'postgres' && !postgres)(`the mosis-portal process [${dialect}]`, () => {
    it('after a kill -9, checks the version accepted before it (pending_review, never stuck processing), and removes the staging file of the upload it cut off, which left no version row', async () => {
      const database = await prepareDatabase(dialect);
      const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
      try {
        // Serving only (no worker): the first upload is accepted and its check job waits in the database.
        const server = await startServer({ ...env, JOBS_ENABLED: 'false' });
        const { token, key, appId } = await setUp(server);
        const accepted = openUpload(server, appId, token);
        accepted.req.end(await readFile(await makePackage({ id: ID, key })));
        expect((await accepted.answer).status).toBe(202);
        expect(await stagingFiles(database.dataDir)).toEqual([]);

        // The second upload is still streaming in when the process dies.
        const cutOff = openUpload(server, appId, token);
        cutOff.answer.catch(() => undefined);
        for (let i = 0; i < 8; i += 1) cutOff.req.write(Buffer.alloc(256 * 1024, i));
        await until(async () => (await stagingFiles(database.dataDir)).length > 0, 'the upload to reach the staging area');
        server.child.kill('SIGKILL');
        await server.exited;
        cutOff.req.destroy();

        expect(await stagingFiles(database.dataDir)).toHaveLength(1);
        // The accepted upload only: the one cut off left no row.
        expect(await versionStatuses(database.databaseUrl, database.dataDir)).toEqual(['processing']);

        const again = await startServer(env);
        expect(await stagingFiles(database.dataDir)).toEqual([]);
        expect(again.output()).toContain('removed staging files of interrupted uploads');
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
