import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePackage, type DeveloperKey } from '../support/packages.js';
import { openUpload, setUp, stagingFiles, until, versionCount, ID } from '../support/portal-process.js';
import { prepareDatabase, type TestDatabase, type TestDialect } from '../support/portal.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

// Uploads the process loses while it keeps running or stops cleanly (SIGTERM, a client going away);
// a file of its own so it runs beside the other serve-*.test.ts files instead of after them.

// Draining on SIGTERM and a client going away are the process's and the HTTP server's, not the database's.
describe('the mosis-portal process, its uploads and its shutdown [sqlite]', () => {
  const dialect: TestDialect = 'sqlite';
  // One process for both tests (a portal start is the most of each): the client that goes away
  // leaves it running, and the SIGTERM test, which ends it, comes last.
  let database: TestDatabase;
  let server: ServerProcess;
  let developer: { token: string; key: DeveloperKey; appId: string };
  beforeAll(async () => {
    database = await prepareDatabase(dialect);
    server = await startServer({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl });
    developer = await setUp(server);
  });
  afterAll(async () => {
    // Still running if the SIGTERM test did not get to end it (unset if beforeAll failed).
    if ((server as ServerProcess | undefined) !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await (database as TestDatabase | undefined)?.cleanup();
  });

  it('removes the staging file when the client disconnects mid-upload, and records nothing', async () => {
    const { token, appId } = developer;
    const { req, answer } = openUpload(server, appId, token);
    answer.catch(() => undefined);
    req.write(Buffer.alloc(512 * 1024, 1));
    await until(async () => (await stagingFiles(database.dataDir)).length > 0, 'the upload to start');
    req.destroy();
    await until(async () => (await stagingFiles(database.dataDir)).length === 0, 'the staging file to be removed');
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await versionCount(database.databaseUrl, database.dataDir)).toBe(0);
  });

  it('on SIGTERM finishes the upload in flight, answers it, then exits cleanly', async () => {
    const { token, key, appId } = developer;
    const before = await versionCount(database.databaseUrl, database.dataDir);
    const bytes = await readFile(await makePackage({ id: ID, key }));
    const { req, answer } = openUpload(server, appId, token);
    const half = Math.floor(bytes.length / 2);
    req.write(bytes.subarray(0, half));
    await until(async () => (await stagingFiles(database.dataDir)).length > 0, 'the upload to start');
    server.child.kill('SIGTERM');
    // The rest of the body goes once the portal has begun to shut down, not after a guessed pause.
    await until(() => Promise.resolve(server.output().includes('"msg":"shutting down"')), 'the portal to begin shutting down');
    req.end(bytes.subarray(half));
    const res = await answer;
    expect(res.status, res.body).toBe(202);
    // The answer ends its keep-alive connection, so the client does not hold the process open.
    expect(res.connection).toBe('close');
    expect((await server.exited).code).toBe(0);
    expect(await versionCount(database.databaseUrl, database.dataDir)).toBe(before + 1);
  });
});
