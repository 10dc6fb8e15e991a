import { readFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/storage/index.js';
import { createApp, registerUser } from '../support/api.js';
import { makePackage, registerSigningKey } from '../support/packages.js';
import { ID } from '../support/portal-process.js';
import { prepareDatabase, startPortal } from '../support/portal.js';
import { runPortal } from '../support/server-process.js';

// The mosis-portal verbs besides serve (gc, migrate) and a bad configuration; a file of its own so
// it runs beside the other serve-*.test.ts files instead of after them.

// One dialect: gc asks each kind of stored blob whether a row still refers to it, and those
// queries run on both dialects in-process (test/features/versions-upload.test.ts: a version's
// package is referenced until it fails its checks). What only the process shows is the command
// itself: it opens the configured storage and database, sweeps, and says what it did.
describe('the mosis-portal process [sqlite]', () => {
  it('gc deletes package blobs no version refers to and keeps the rest', async () => {
    const database = await prepareDatabase('sqlite');
    const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
    try {
      // The version is uploaded through a portal in this process (migrating the database): gc is
      // the process under test here, and a portal started as one only to take an upload costs seconds.
      let version: { sha256: string };
      const { portal, stop } = await startPortal('sqlite', env);
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
        version = res.json<{ sha256: string }>();
      } finally {
        await stop();
      }

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
