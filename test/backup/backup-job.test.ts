import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createSnapshot, readManifest, restoreSnapshot, SnapshotRefused, verifySnapshot } from '../../src/backup/index.js';
import { runJobs, TestClock } from '../support/accounts.js';
import { createApp, registerUser } from '../support/api.js';
import { makePackage, registerSigningKey } from '../support/packages.js';
import { describeOnPostgres, describeOnSqlite, type TestPortal } from '../support/portal.js';

const ID = 'com.example.notes';
const HOUR = 3600_000;

/** A developer, an app and one uploaded package (its blob in the store, its version row referring to it). */
async function uploadedPackage(p: TestPortal): Promise<{ sha256: string; size: number }> {
  const dev = await registerUser(p);
  const key = await registerSigningKey(p, dev);
  const app = await createApp(p, dev, ID);
  const res = await p.app.inject({
    method: 'POST',
    url: `/v1/apps/${app.id}/versions`,
    headers: { ...dev.auth, 'content-type': 'application/octet-stream' },
    payload: await readFile(await makePackage({ id: ID, key })),
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ sha256: string; size: number }>();
}

async function snapshotNames(p: TestPortal): Promise<string[]> {
  return (await readdir(p.config.backupsDir)).sort();
}

let clock: TestClock;

describeOnSqlite(
  'the recurring backup job',
  (portal) => {
    it('takes a snapshot in each slot of BACKUP_SCHEDULE (minute 7 of every hour), with the blobs hard-linked, and deletes what the retention does not keep', async () => {
      const p = portal();
      const version = await uploadedPackage(p);
      // The worker keeps the next slot queued: 12:07 on a clock at 12:00. Nothing is taken before it.
      await runJobs(p);
      expect(await snapshotNames(p)).toEqual([]);
      clock.advance(7 * 60_000);
      await runJobs(p);
      expect(await snapshotNames(p)).toEqual(['2026-11-27T12-07-00Z']);

      const first = path.join(p.config.backupsDir, '2026-11-27T12-07-00Z');
      const manifest = await readManifest(first);
      expect(manifest).toMatchObject({ dialect: 'sqlite', created_at: '2026-11-27T12:07:00.000Z', blobs_location: 'snapshot' });
      expect(manifest.databases.map((d) => d.name)).toEqual(['portal']);
      expect(manifest.blobs).toEqual([{ sha256: version.sha256, size: version.size }]);
      expect(manifest.files.map((f) => f.path)).toEqual(['keys/access-token-keys.json', 'keys/device-ids.json', 'keys/store-keys.json', 'secrets/account-secrets.key']);
      // Same filesystem as the store: the blob is a second name of the store's file, not a copy.
      const blob = path.join(first, 'blobs', version.sha256);
      expect((await stat(blob)).nlink).toBeGreaterThanOrEqual(2);
      expect((await stat(first)).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(first, 'portal.db'))).mode & 0o777).toBe(0o600);
      await verifySnapshot(first, { packagesDir: p.config.packagesDir });

      // BACKUP_KEEP_HOURLY=2 (daily and weekly 0): the third snapshot takes the first one's place.
      for (let i = 0; i < 2; i += 1) {
        clock.advance(HOUR);
        await runJobs(p);
      }
      expect(await snapshotNames(p)).toEqual(['2026-11-27T13-07-00Z', '2026-11-27T14-07-00Z']);
      // The deleted snapshot's link is gone; the store's blob is not.
      expect(await p.blobs.has(version.sha256)).toBe(true);
    });
  },
  {
    env: () => ({ BACKUP_KEEP_HOURLY: '2', BACKUP_KEEP_DAILY: '0', BACKUP_KEEP_WEEKLY: '0' }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describeOnSqlite(
  'the recurring backup job turned off',
  (portal) => {
    it('takes no snapshot with BACKUPS_ENABLED=false', async () => {
      const p = portal();
      await runJobs(p);
      clock.advance(2 * HOUR);
      await runJobs(p);
      expect(await snapshotNames(p)).toEqual([]);
      const jobs = await p.database.db.selectFrom('jobs').select('kind').where('kind', '=', 'backup.snapshot').execute();
      expect(jobs).toEqual([]);
    });
  },
  {
    env: () => ({ BACKUPS_ENABLED: 'false' }),
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

// PostgreSQL alone: there the database is pg_dump's, so a snapshot is the key files and the list of
// referenced blobs, which the feature checks (BlobReferences) find in the live database.
describeOnPostgres('snapshots on PostgreSQL', (portal) => {
  it('lists the referenced blobs with their checksums and the key files, leaves the database to pg_dump, and restore refuses it saying so', async () => {
    const p = portal();
    expect(p.config.backups.enabled).toBe(false);
    const version = await uploadedPackage(p);
    const into = await mkdtemp(path.join(tmpdir(), 'mosis-pg-snapshots-'));
    try {
      const core = p.core;
      const { dir, manifest } = await createSnapshot(
        { database: p.config.database, dataDir: p.config.dataDir, blobs: core.blobs, db: core.db, isReferenced: (sha) => core.blobReferences.isReferenced(sha) },
        { into, now: new Date('2026-11-27T13:07:00Z') },
      );
      expect(path.basename(dir)).toBe('2026-11-27T13-07-00Z');
      expect(manifest).toMatchObject({ dialect: 'postgres', databases: [], blobs_location: 'packages_dir', blobs: [{ sha256: version.sha256, size: version.size }] });
      expect(manifest.migrations).toContain('0015_notifications');
      expect(manifest.files.length).toBeGreaterThanOrEqual(3);
      expect(await readdir(dir)).not.toContain('blobs');
      await verifySnapshot(dir, { packagesDir: p.config.packagesDir });

      const target = path.join(into, 'restored');
      const refused = await restoreSnapshot(dir, { dataDir: target, database: { dialect: 'sqlite', file: path.join(target, 'portal.db') }, packagesDir: path.join(target, 'packages') }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(SnapshotRefused);
      expect((refused as Error).message).toMatch(/was taken on PostgreSQL.*pg_restore or point-in-time recovery/);
      expect(await readdir(into)).toEqual(['2026-11-27T13-07-00Z']);
    } finally {
      await rm(into, { recursive: true, force: true });
    }
  });
});
