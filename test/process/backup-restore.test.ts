import { cp, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSnapshot, restoreSnapshot, SnapshotRefused, type SnapshotManifest } from '../../src/backup/index.js';
import { digestFileSync } from '../../src/backup/sqlite-files.js';
import { createApp, PASSWORD, registerUser } from '../support/api.js';
import { makePackage, newDeveloperKey, registerSigningKey } from '../support/packages.js';
import { api, ID } from '../support/portal-process.js';
import { prepareDatabase, startPortal, type TestPortal } from '../support/portal.js';
import { runPortal, startServer, type ServerProcess } from '../support/server-process.js';

// `mosis-portal backup` and `restore` as an operator runs them: the compiled dist/, its own process,
// beside a serving portal. SQLite only: on PostgreSQL the database is pg_dump's, and what a snapshot
// holds there (keys and the blob list) is covered in-process by test/backup/backup-job.test.ts.

const blobFile = (packagesDir: string, sha: string) => path.join(packagesDir, 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha);

/** Rows per table of a SQLite file, read-only. */
function rowCounts(file: string): Record<string, number> {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`select name from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`).pluck().all() as string[];
    return Object.fromEntries(tables.map((t) => [t, (db.prepare(`select count(*) from "${t}"`).pluck().get() as number)]));
  } finally {
    db.close();
  }
}

function column(file: string, query: string): string[] {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(query).pluck().all() as string[];
  } finally {
    db.close();
  }
}

async function post(server: ServerProcess, url: string, body: unknown, token?: string, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.baseUrl}${url}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: contentType === 'application/json' ? JSON.stringify(body) : (body as Buffer),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('mosis-portal backup and restore [sqlite]', () => {
  it('snapshots a portal process while it registers developers, creates apps and takes uploads; the restored portal has everything acknowledged before the snapshot began', async () => {
    const database = await prepareDatabase('sqlite');
    const env = {
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.databaseUrl,
      // Sign-ups as fast as the server takes them, all from 127.0.0.1.
      AUTH_RATE_LIMIT_PER_IP: '1000000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '1000000',
      // The restored portal listens on another port: the same public URL keeps the tokens' issuer.
      BASE_URL: 'http://portal.test',
    };
    const scratch = await mkdtemp(path.join(tmpdir(), 'mosis-restore-'));
    const restored = path.join(scratch, 'data');
    let server: ServerProcess | undefined;
    let restoredPortal: { portal: TestPortal; stop: () => Promise<void> } | undefined;
    try {
      // At most four uploads of one developer may wait for their checks at once.
      const key = newDeveloperKey();
      const [live, packages] = await Promise.all([startServer(env), Promise.all([1, 2, 3, 4].map(async (versionCode) => readFile(await makePackage({ id: ID, key, versionCode }))))]);
      server = live;
      await api(live, 'POST', '/v1/auth/register', { email: 'dev@example.com', password: PASSWORD, name: 'Dev' });
      const token = String((await api(live, 'POST', '/v1/auth/login', { email: 'dev@example.com', password: PASSWORD }))['access_token']);
      await api(live, 'POST', '/v1/signing-keys', { name: 'laptop', public_key: key.publicKeyBase64 }, token);
      const appId = String((await api(live, 'POST', '/v1/apps', { package_id: ID, name: 'Notes' }, token))['id']);
      const first = await post(live, `/v1/apps/${appId}/versions`, packages[0], token, 'application/octet-stream');
      expect(first.status, JSON.stringify(first.json)).toBe(202);

      // Three writers, each recording what the server acknowledged and when. Sign-ups hash at the
      // portal's real argon2 cost: a pause between them leaves the cores to the backup and the suite.
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
      type Ack = { at: number; value: string };
      const acked = { users: [] as Ack[], apps: [] as Ack[], versions: [{ at: performance.now(), value: String(first.json['id']) }] as Ack[] };
      let writing = true;
      let failure: Error | undefined;
      let n = 0;
      const writers = [
        (async () => {
          while (writing) {
            const email = `writer${(n += 1)}@example.com`;
            const res = await post(live, '/v1/auth/register', { email, password: PASSWORD, name: 'Writer' });
            expect(res.status).toBe(202);
            acked.users.push({ at: performance.now(), value: email });
            await pause(100);
          }
        })(),
        (async () => {
          for (let i = 0; writing; i += 1) {
            const res = await post(live, '/v1/apps', { package_id: `com.example.busy${i}`, name: `Busy ${i}` }, token);
            expect(res.status).toBe(201);
            acked.apps.push({ at: performance.now(), value: String(res.json['id']) });
            await pause(10);
          }
        })(),
        (async () => {
          for (const body of packages.slice(1)) {
            if (!writing) break;
            const res = await post(live, `/v1/apps/${appId}/versions`, body, token, 'application/octet-stream');
            expect(res.status, JSON.stringify(res.json)).toBe(202);
            acked.versions.push({ at: performance.now(), value: String(res.json['id']) });
          }
        })(),
      ].map((w) =>
        w.catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
          writing = false;
        }),
      );
      // Busy before the backup starts: every writer has had something acknowledged.
      while (acked.users.length < 2 || acked.apps.length < 2 || acked.versions.length < 2) {
        if (failure !== undefined) throw failure;
        await pause(20);
      }

      const began = performance.now();
      const backup = runPortal(['backup'], env);
      const { code } = await backup.exited;
      const ended = performance.now();
      writing = false;
      await Promise.all(writers);
      if (failure !== undefined) throw failure;
      expect(code, backup.output()).toBe(0);
      const snapshot = /Snapshot written to (\S+) in/.exec(backup.output())?.[1];
      expect(snapshot, backup.output()).toBeDefined();
      // The portal kept writing while the snapshot was taken.
      expect([...acked.users, ...acked.apps].filter((a) => a.at > began && a.at < ended).length, 'writes acknowledged during the backup').toBeGreaterThan(0);

      // Restored on "another machine": a DATA_DIR that does not exist yet, nothing else.
      const restore = runPortal(['restore', snapshot!], { DATA_DIR: restored });
      expect((await restore.exited).code, restore.output()).toBe(0);
      expect(await readdir(scratch)).toEqual(['data']);
      const restoredDb = path.join(restored, 'portal.db');
      // Identical to the snapshot, table by table.
      expect(rowCounts(restoredDb)).toEqual(rowCounts(path.join(snapshot!, 'portal.db')));
      expect((await stat(restored)).mode & 0o777).toBe(0o700);

      // Everything acknowledged before the backup began is there.
      const before = (acks: Ack[]) => acks.filter((a) => a.at < began).map((a) => a.value);
      const users = column(restoredDb, 'select email from users');
      const apps = column(restoredDb, 'select id from apps');
      const versions = column(restoredDb, 'select id from versions');
      expect(users).toEqual(expect.arrayContaining(['dev@example.com', ...before(acked.users)]));
      expect(apps).toEqual(expect.arrayContaining([appId, ...before(acked.apps)]));
      expect(versions).toEqual(expect.arrayContaining(before(acked.versions)));
      // And each version's package, byte for byte.
      const shas = column(restoredDb, `select sha256 from versions where status <> 'failed'`);
      expect(shas.length).toBeGreaterThanOrEqual(before(acked.versions).length);
      for (const sha of shas) {
        expect(digestFileSync(blobFile(path.join(restored, 'packages'), sha)).sha256).toBe(sha);
        expect(digestFileSync(blobFile(path.join(database.dataDir, 'packages'), sha)).sha256).toBe(sha);
      }

      // A portal on the restored DATA_DIR serves it with the keys it had: a token issued before the
      // backup still works, and a developer who signed up before it signs in.
      server.child.kill('SIGTERM');
      await server.exited;
      restoredPortal = await startPortal('sqlite', { DATA_DIR: restored, DATABASE_URL: `sqlite:${restoredDb}`, BASE_URL: env.BASE_URL });
      const { app: again } = restoredPortal.portal;
      const listed = await again.inject({ method: 'GET', url: '/v1/apps?limit=100', headers: { authorization: `Bearer ${token}` } });
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json<{ items: { id: string }[] }>().items.map((a) => a.id)).toEqual(expect.arrayContaining([appId, ...before(acked.apps).slice(-5)]));
      const login = await again.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: before(acked.users).at(-1), password: PASSWORD } });
      expect(login.statusCode, login.body).toBe(200);
    } finally {
      await restoredPortal?.stop();
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      await database.cleanup();
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('backup --verify and restore refuse a damaged or incomplete snapshot (exit 2, naming the problem) and a DATA_DIR that is not empty, leaving nothing behind', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'mosis-refuse-'));
    // A snapshot of a portal with one uploaded package, taken in this process.
    const { portal, stop } = await startPortal('sqlite');
    let good: string;
    let manifest: SnapshotManifest;
    try {
      const dev = await registerUser(portal);
      const key = await registerSigningKey(portal, dev);
      const app = await createApp(portal, dev, ID);
      const res = await portal.app.inject({
        method: 'POST',
        url: `/v1/apps/${app.id}/versions`,
        headers: { ...dev.auth, 'content-type': 'application/octet-stream' },
        payload: await readFile(await makePackage({ id: ID, key })),
      });
      expect(res.statusCode, res.body).toBe(202);
      const core = portal.core;
      const taken = await createSnapshot(
        { database: portal.config.database, dataDir: portal.config.dataDir, blobs: core.blobs, db: core.db, isReferenced: (sha) => core.blobReferences.isReferenced(sha) },
        { into: path.join(scratch, 'snapshots'), now: new Date() },
      );
      good = taken.dir;
      manifest = taken.manifest;
    } finally {
      await stop();
    }
    expect(manifest.blobs).toHaveLength(1);
    const blob = manifest.blobs[0]!.sha256;

    /** A copy of the good snapshot, damaged by `damage`. */
    const damaged = async (name: string, damage: (dir: string) => Promise<void>): Promise<string> => {
      const dir = path.join(scratch, name);
      await cp(good, dir, { recursive: true });
      await damage(dir);
      return dir;
    };
    const target = (dataDir: string) => ({ dataDir, database: { dialect: 'sqlite' as const, file: path.join(dataDir, 'portal.db') }, packagesDir: path.join(dataDir, 'packages') });
    /** Restores into scratch/target (or `dataDir`), expecting a refusal that names the problem and leaves no trace. */
    const refused = async (snapshot: string, problem: RegExp, dataDir = path.join(scratch, 'target')): Promise<void> => {
      const before = (await readdir(scratch)).sort();
      const err = await restoreSnapshot(snapshot, target(dataDir)).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotRefused);
      expect((err as Error).message).toMatch(problem);
      expect((await readdir(scratch)).sort(), 'no temporary directory left beside DATA_DIR').toEqual(before);
    };

    try {
      const flipped = await damaged('flipped', async (dir) => {
        const file = await open(path.join(dir, 'portal.db'), 'r+');
        const { size } = await file.stat();
        const byte = Buffer.alloc(1);
        await file.read(byte, 0, 1, Math.floor(size / 2));
        byte[0] = byte[0]! ^ 0xff;
        await file.write(byte, 0, 1, Math.floor(size / 2));
        await file.close();
      });
      await refused(flipped, /damaged or incomplete.*nothing was restored[\s\S]*database file portal\.db has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64} \(its bytes changed\)/);

      const missingBlob = await damaged('missing-blob', (dir) => rm(path.join(dir, 'blobs', blob)));
      await refused(missingBlob, new RegExp(`blob ${blob} is missing from the snapshot`));

      const truncatedManifest = await damaged('truncated-manifest', async (dir) => {
        const file = path.join(dir, 'manifest.json');
        await truncate(file, Math.floor((await stat(file)).size / 2));
      });
      await refused(truncatedManifest, /manifest\.json is not valid JSON .*truncated or damaged/);

      const missingDatabase = await damaged('missing-database', (dir) => rm(path.join(dir, 'portal.db')));
      await refused(missingDatabase, /database file portal\.db is missing from the snapshot/);

      const occupied = path.join(scratch, 'occupied');
      await mkdir(occupied);
      await writeFile(path.join(occupied, 'portal.db'), 'the current portal');
      await refused(good, /DATA_DIR .*occupied is not empty \(it holds portal\.db\): restore only ever writes into an empty DATA_DIR/, occupied);
      expect(await readdir(occupied)).toEqual(['portal.db']);
      expect(await readFile(path.join(occupied, 'portal.db'), 'utf8')).toBe('the current portal');

      // The commands: exit 0 on a good snapshot, 2 with the problems on stderr on a damaged one.
      const [verifyGood, verifyFlipped, restoreMissingBlob] = [
        runPortal(['backup', '--verify', good], {}),
        runPortal(['backup', '--verify', flipped], {}),
        runPortal(['restore', missingBlob], { DATA_DIR: path.join(scratch, 'target') }),
      ];
      expect((await verifyGood.exited).code, verifyGood.output()).toBe(0);
      expect(verifyGood.output()).toContain('is good');
      expect((await verifyFlipped.exited).code, verifyFlipped.output()).toBe(2);
      expect(verifyFlipped.output()).toMatch(/database file portal\.db has SHA-256 [0-9a-f]{64}, the manifest says/);
      expect((await restoreMissingBlob.exited).code, restoreMissingBlob.output()).toBe(2);
      expect(restoreMissingBlob.output()).toContain(`blob ${blob} is missing from the snapshot`);

      // The target of the refused restores was never made; the good snapshot restores into it.
      expect(await readdir(scratch)).not.toContain('target');
      await restoreSnapshot(good, target(path.join(scratch, 'target')));
      expect((await readdir(path.join(scratch, 'target'))).sort()).toEqual(['keys', 'packages', 'portal.db', 'secrets']);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
