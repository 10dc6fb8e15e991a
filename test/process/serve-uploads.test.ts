import { describe, expect, inject, it } from 'vitest';
import { openUpload, setUp, stagingFiles, until, versionCount } from '../support/portal-process.js';
import { prepareDatabase, type TestDialect } from '../support/portal.js';
import { startServer } from '../support/server-process.js';

// An upload the process is killed in (kill -9) and what the next start cleans up; a file of its own
// so it runs beside the other serve-*.test.ts files instead of after them.

const postgres = inject('postgresUrl') !== null;

// Both dialects: what a killed process leaves in the database.
for (const dialect of ['sqlite', 'postgres'] as TestDialect[]) {
  describe.skipIf(dialect === 'postgres' && !postgres)(`the mosis-portal process [${dialect}]`, () => {
    it('after kill -9 mid-upload leaves no version row, and the next start removes the staging file', async () => {
      const database = await prepareDatabase(dialect);
      const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
      try {
        const server = await startServer(env);
        const { token, appId } = await setUp(server);
        const { req, answer } = openUpload(server, appId, token);
        answer.catch(() => undefined);
        for (let i = 0; i < 8; i += 1) req.write(Buffer.alloc(256 * 1024, i));
        await until(async () => (await stagingFiles(database.dataDir)).length > 0, 'the upload to reach the staging area');
        server.child.kill('SIGKILL');
        await server.exited;
        req.destroy();

        expect(await stagingFiles(database.dataDir)).toHaveLength(1);
        expect(await versionCount(database.databaseUrl, database.dataDir)).toBe(0);

        const again = await startServer(env);
        expect(await stagingFiles(database.dataDir)).toEqual([]);
        expect(again.output()).toContain('removed staging files of interrupted uploads');
        again.child.kill('SIGTERM');
        expect((await again.exited).code).toBe(0);
      } finally {
        await database.cleanup();
      }
    });
  });
}
