import { readdir, readFile, utimes } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { FsBlobStore } from '../../src/storage/index.js';
import { PASSWORD } from '../support/api.js';
import { makePackage, newDeveloperKey } from '../support/packages.js';
import { prepareDatabase, type TestDialect } from '../support/portal.js';
import { runPortal, startServer, type ServerProcess } from '../support/server-process.js';

const ID = 'com.example.notes';

async function api(server: ServerProcess, method: string, url: string, body?: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A developer with a signing key and an app, made through the API of the running server. */
async function setUp(server: ServerProcess) {
  await api(server, 'POST', '/v1/auth/register', { email: 'dev@example.com', password: PASSWORD, name: 'Dev' });
  const session = await api(server, 'POST', '/v1/auth/login', { email: 'dev@example.com', password: PASSWORD });
  const token = String(session['access_token']);
  const key = newDeveloperKey();
  await api(server, 'POST', '/v1/signing-keys', { name: 'laptop', public_key: key.publicKeyBase64 }, token);
  const app = await api(server, 'POST', '/v1/apps', { package_id: ID, name: 'Notes' }, token);
  return { token, key, appId: String(app['id']) };
}

/** Opens a chunked upload and returns the request, to write to, plus its eventual answer. */
function openUpload(server: ServerProcess, appId: string, token: string) {
  const req = request(`${server.baseUrl}/v1/apps/${appId}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
  });
  const answer = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
  return { req, answer };
}

async function stagingFiles(dataDir: string): Promise<string[]> {
  return readdir(path.join(dataDir, 'packages', '.staging')).catch(() => []);
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function versionStatuses(databaseUrl: string, dataDir: string): Promise<string[]> {
  const database = openDatabase(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }).database);
  try {
    return (await database.db.selectFrom('versions').select('status').execute()).map((v) => v.status);
  } finally {
    await database.close();
  }
}

async function versionCount(databaseUrl: string, dataDir: string): Promise<number> {
  const database = openDatabase(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }).database);
  try {
    return (await database.db.selectFrom('versions').select('id').execute()).length;
  } finally {
    await database.close();
  }
}

const postgres = inject('postgresUrl') !== null;

// Both dialects: what a killed process leaves in the database, and which blobs the database still refers to.
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

    it('gc deletes package blobs no version refers to and keeps the rest', async () => {
      const database = await prepareDatabase(dialect);
      const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
      try {
        const server = await startServer(env);
        const { token, key, appId } = await setUp(server);
        const { req, answer } = openUpload(server, appId, token);
        req.end(await readFile(await makePackage({ id: ID, key })));
        const version = JSON.parse((await answer).body) as { sha256: string };
        server.child.kill('SIGTERM');
        await server.exited;

        const blobs = new FsBlobStore(path.join(database.dataDir, 'packages'));
        const orphan = await blobs.stage(Readable.from([Buffer.from('left behind by a deleted app')]), { maxBytes: 1024 });
        await orphan.commit();
        const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
        for (const sha of [version.sha256, orphan.sha256]) {
          await utimes(path.join(database.dataDir, 'packages', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha), twoHoursAgo, twoHoursAgo);
        }
        const gc = runPortal(['gc'], env);
        expect((await gc.exited).code).toBe(0);
        expect(gc.output()).toContain('Deleted 1 unreferenced blob(s); kept 1 in use');
        expect(await blobs.has(orphan.sha256)).toBe(false);
        expect(await blobs.has(version.sha256)).toBe(true);
      } finally {
        await database.cleanup();
      }
    });
  });
}

// Draining on SIGTERM and a client going away are the process's and the HTTP server's, not the database's.
describe('the mosis-portal process, its uploads and its shutdown [sqlite]', () => {
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

  it('on SIGTERM finishes the upload in flight, answers it, then exits cleanly', async () => {
    const database = await prepareDatabase(dialect);
    try {
      const server = await startServer({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl });
      const { token, key, appId } = await setUp(server);
      const bytes = await readFile(await makePackage({ id: ID, key }));
      const { req, answer } = openUpload(server, appId, token);
      const half = Math.floor(bytes.length / 2);
      req.write(bytes.subarray(0, half));
      await until(async () => (await stagingFiles(database.dataDir)).length > 0, 'the upload to start');
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      req.end(bytes.subarray(half));
      const res = await answer;
      expect(res.status, res.body).toBe(202);
      // The answer ends its keep-alive connection, so the client does not hold the process open.
      expect(res.connection).toBe('close');
      expect((await server.exited).code).toBe(0);
      expect(await versionCount(database.databaseUrl, database.dataDir)).toBe(1);
    } finally {
      await database.cleanup();
    }
  });

  it('removes the staging file when the client disconnects mid-upload, and records nothing', async () => {
    const database = await prepareDatabase(dialect);
    try {
      const server = await startServer({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl });
      const { token, appId } = await setUp(server);
      const { req, answer } = openUpload(server, appId, token);
      answer.catch(() => undefined);
      req.write(Buffer.alloc(512 * 1024, 1));
      await until(async () => (await stagingFiles(database.dataDir)).length > 0, 'the upload to start');
      req.destroy();
      await until(async () => (await stagingFiles(database.dataDir)).length === 0, 'the staging file to be removed');
      const ready = await fetch(`${server.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
      server.child.kill('SIGTERM');
      await server.exited;
      expect(await versionCount(database.databaseUrl, database.dataDir)).toBe(0);
    } finally {
      await database.cleanup();
    }
  });
});

describe('mosis-portal configuration errors', () => {
  it('stops with one clear line naming the bad variable', async () => {
    const server = runPortal(['serve'], { PORT: 'eighty' });
    const { code } = await server.exited;
    expect(code).toBe(1);
    expect(server.output().trim()).toBe('mosis-portal: Invalid configuration: PORT must be an integer between 1 and 65535 (got "eighty")');
  });

  it('migrate applies the migrations and says so, then says the database is up to date', async () => {
    const database = await prepareDatabase('sqlite');
    try {
      const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
      const first = runPortal(['migrate'], env);
      expect((await first.exited).code).toBe(0);
      expect(first.output()).toContain('Applied: 0001_foundation');
      const second = runPortal(['migrate'], env);
      expect((await second.exited).code).toBe(0);
      expect(second.output()).toContain('The database is up to date.');
    } finally {
      await database.cleanup();
    }
  });
});
