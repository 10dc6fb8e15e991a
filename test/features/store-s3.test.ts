import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSnapshot, restoreSnapshot, verifySnapshot } from '../../src/backup/index.js';
import { collectGarbage } from '../../src/storage/index.js';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';
import { startS3Server, type S3Server } from '../support/s3.js';
import { storeWorld } from '../support/store.js';

// One S3-compatible server for the file; each portal has a prefix of its own in its bucket. The
// store's behaviour on S3 does not depend on the database: SQLite.
let s3: S3Server;
let clock: TestClock;
let prefix = '';

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

async function keys(under: string): Promise<string[]> {
  const page = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/${under}` }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function listen(p: TestPortal): Promise<string> {
  await p.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(p.app.server.address() as AddressInfo).port}`;
}

/** A published version of a package whose bytes went to the bucket. */
async function published(p: TestPortal) {
  const world = await storeWorld(p, clock);
  const v1 = await world.release(world.app, 1);
  const url = `/v1/store/packages/${world.app.package_id}/1.mosis`;
  const sha256 = (await p.core.db.selectFrom('versions').select('sha256').where('id', '=', v1.id).executeTakeFirstOrThrow()).sha256;
  return { world, v1, url, sha256 };
}

async function downloadCount(p: TestPortal, world: Awaited<ReturnType<typeof storeWorld>>): Promise<number> {
  await p.core.store.downloads.flush();
  const res = await p.app.inject({ method: 'GET', url: `/v1/apps/${world.app.id}/downloads`, headers: world.dev.auth });
  return res.json<{ items: { downloads: number }[] }>().items.reduce((sum, i) => sum + i.downloads, 0);
}

describeOnSqlite(
  'packages on S3',
  (portal) => {
    it('uploads to the bucket, checks from the local copy, publishes, serves downloads with ranges through the portal, and collects garbage', async () => {
      const p = portal();
      const { world, v1, url, sha256 } = await published(p);
      expect(await keys('sha256/')).toEqual([`${prefix}/sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`]);
      expect(await keys('staging/')).toEqual([]);
      // The check read the upload's local copy, which it consumed.
      expect(await readdir(path.join(p.config.dataDir, 'staging', 'committed'))).toEqual([]);

      const base = await listen(p);
      const whole = await fetch(`${base}${url}`);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('etag')).toBe(`"${sha256}"`);
      expect(Buffer.from(await whole.arrayBuffer()).equals(v1.file)).toBe(true);
      const part = await fetch(`${base}${url}`, { headers: { range: 'bytes=10-99' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 10-99/${v1.file.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(v1.file.subarray(10, 100))).toBe(true);
      expect(await downloadCount(p, world)).toBe(1);

      // gc: an unreferenced blob goes once it is older than the grace period; the package stays.
      const orphan = await p.blobs.stage(Readable.from([Buffer.from('nobody refers to me')]), { maxBytes: 100 });
      await orphan.commit();
      const later = new Date(Date.now() + 2 * 3600_000);
      const result = await collectGarbage(p.blobs, (h) => p.core.blobReferences.isReferenced(h), { graceMs: 3600_000, now: later });
      expect(result).toMatchObject({ deleted: 1 });
      expect(await p.blobs.has(orphan.sha256)).toBe(false);
      expect(await p.blobs.has(sha256)).toBe(true);
    });

    it('with STORAGE_DOWNLOADS=redirect answers 302 to a presigned URL with the ETag and signature, 304 itself, and counts the download', async () => {
      const p = portal();
      const { world, v1, url, sha256 } = await published(p);
      const res = await p.app.inject({ method: 'GET', url, headers: { 'x-mosis-device': 'device-1' } });
      expect(res.statusCode).toBe(302);
      expect(res.headers['etag']).toBe(`"${sha256}"`);
      expect(res.headers['x-mosis-store-signature']).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(res.headers['x-mosis-store-key']).toBeTruthy();
      const location = res.headers['location'] as string;
      expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/${prefix}/sha256/`)).toBe(true);
      expect(location).toContain('X-Amz-Expires=300');
      const direct = await fetch(location);
      expect(direct.status).toBe(200);
      expect(Buffer.from(await direct.arrayBuffer()).equals(v1.file)).toBe(true);
      const ranged = await fetch(location, { headers: { range: 'bytes=0-9' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(v1.file.subarray(0, 10))).toBe(true);
      // A HEAD (the size before a download) is the portal's own answer: presigned URLs are for GET.
      const head = await p.app.inject({ method: 'HEAD', url });
      expect(head.statusCode).toBe(200);
      expect(head.headers['content-length']).toBe(String(v1.file.length));
      const notModified = await p.app.inject({ method: 'GET', url, headers: { 'if-none-match': `"${sha256}"` } });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.headers['location']).toBeUndefined();
      expect(await downloadCount(p, world)).toBe(1);
    });

    it('answers 503 storage_unavailable and is not ready while the bucket is down; a cut upload leaves nothing under sha256/', async () => {
      const p = portal();
      const { world, url } = await published(p);
      const base = await listen(p);

      // An upload cut off halfway (the client goes away) leaves no blob and, soon, no staging key.
      const half = Buffer.alloc(256 * 1024, 3);
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${base}/v1/apps/${world.app.id}/versions`, {
          method: 'POST',
          headers: { ...world.dev.auth, 'content-type': 'application/octet-stream', 'content-length': String(2 * half.length) },
        });
        req.on('error', () => resolve());
        req.write(half, () => setTimeout(() => {
          req.destroy();
          resolve();
        }, 200));
      });
      for (let i = 0; i < 50 && (await keys('staging/')).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await keys('staging/')).toEqual([]);
      expect(await keys('sha256/')).toHaveLength(1);

      await s3.kill();
      try {
        const ready = await p.app.inject({ method: 'GET', url: '/readyz' });
        expect(ready.statusCode).toBe(503);
        expect(ready.json<{ checks: Record<string, { ok: boolean }> }>().checks['packages']).toEqual({ ok: false });
        const down = expectProblem(await p.app.inject({ method: 'GET', url }), 503, 'storage_unavailable');
        // The client learns nothing of the SDK's error; the log has it.
        expect(JSON.stringify(down)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
        expect(p.logs()).toMatch(/"code":"storage_unavailable"[^\n]*ECONNREFUSED|ECONNREFUSED[^\n]*"code":"storage_unavailable"/);
        const upload = await p.app.inject({
          method: 'POST',
          url: `/v1/apps/${world.app.id}/versions`,
          headers: { ...world.dev.auth, 'content-type': 'application/octet-stream' },
          payload: Buffer.alloc(4096, 1),
        });
        expectProblem(upload, 503, 'storage_unavailable');
      } finally {
        await s3.start();
      }
      expect((await p.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      expect((await p.app.inject({ method: 'GET', url })).statusCode).toBe(200);
    });

    it('takes a snapshot with the blobs from the bucket and restores them into another prefix', async () => {
      const p = portal();
      const { sha256 } = await published(p);
      const work = await mkdtemp(path.join(tmpdir(), 'mosis-s3-backup-'));
      try {
        const source = { database: p.config.database, dataDir: p.config.dataDir, blobs: p.blobs, db: p.core.db, isReferenced: (h: string) => p.core.blobReferences.isReferenced(h) };
        const { dir, manifest } = await createSnapshot(source, { into: path.join(work, 'backups'), now: new Date() });
        expect(manifest.blobs.map((b) => b.sha256)).toContain(sha256);
        if (p.config.storage.kind !== 's3') throw new Error('the portal is not on S3');
        const restoredPrefix = `${prefix}-restored`;
        const target = path.join(work, 'restored');
        await restoreSnapshot(dir, { dataDir: target, database: { dialect: 'sqlite', file: path.join(target, 'portal.db') }, packagesDir: path.join(target, 'packages'), storage: { ...p.config.storage, prefix: restoredPrefix } });
        const page = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${restoredPrefix}/` }));
        expect((page.Contents ?? []).map((o) => o.Key)).toContain(`${restoredPrefix}/sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
        const restored = await readdir(target);
        expect(restored).not.toContain('packages');
        expect(restored).not.toContain('.s3-restore');
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  },
  {
    env: () => {
      prefix = `portal-${randomUUID()}`;
      // Each test's portal starts before the test body runs: its name says which download mode it is about.
      const downloads = expect.getState().currentTestName?.includes('STORAGE_DOWNLOADS=redirect') ? 'redirect' : 'proxy';
      return { ...s3.env(prefix), STORAGE_DOWNLOADS: downloads, STORAGE_REDIRECT_SECONDS: '300' };
    },
    deps: () => ({ clock: (clock = new TestClock()) }),
  },
);

// On PostgreSQL a snapshot lists the blobs (the database is pg_dump's); verifying it reads them
// back from the bucket, not from PACKAGES_DIR.
describe.skipIf(inject('postgresUrl') === null)('packages on S3 with PostgreSQL: snapshots', () => {
  it('lists the blobs from the bucket and verifies them there, refusing once one is gone', async () => {
    prefix = `portal-${randomUUID()}`;
    clock = new TestClock();
    const { portal: p, stop } = await startPortal('postgres', { ...s3.env(prefix) }, { clock });
    const work = await mkdtemp(path.join(tmpdir(), 'mosis-s3-pg-backup-'));
    try {
      const { sha256 } = await published(p);
      const source = { database: p.config.database, dataDir: p.config.dataDir, blobs: p.blobs, db: p.core.db, isReferenced: (h: string) => p.core.blobReferences.isReferenced(h) };
      const { dir, manifest } = await createSnapshot(source, { into: path.join(work, 'backups'), now: new Date() });
      expect(manifest.blobs_location).toBe('packages_dir');
      expect(manifest.blobs.map((b) => b.sha256)).toContain(sha256);
      await verifySnapshot(dir, { packagesDir: p.config.packagesDir, blobs: p.blobs });
      await p.blobs.delete(sha256);
      await expect(verifySnapshot(dir, { packagesDir: p.config.packagesDir, blobs: p.blobs })).rejects.toThrow(/missing from the blob store/);
    } finally {
      await rm(work, { recursive: true, force: true });
      await stop();
    }
  });
});
