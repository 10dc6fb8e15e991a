import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseConfig, StorageConfig } from '../config/index.js';
import { telemetryFile } from '../db/telemetry.js';
import { FsBlobStore, openBlobStore, type BlobStore } from '../storage/index.js';
import { copyPrivate, eachConcurrently, fsyncDirs, fsyncPath, PRIVATE_DIR, removeQuietly, snapshotBlobPath, storedBlobPath } from './files.js';
import { readManifest, type SnapshotManifest } from './manifest.js';
import { SnapshotRefused } from './refused.js';
import { integrityCheck } from './sqlite-files.js';
import { checkFile, verifySnapshot } from './verify.js';

/** Where a restore puts things: the configuration the portal will then be started with. */
export interface RestoreTarget {
  dataDir: string;
  database: DatabaseConfig;
  packagesDir: string;
  /** Where the portal keeps blobs; absent or `fs`: PACKAGES_DIR. An S3 bucket gets the snapshot's blobs through the S3 store. */
  storage?: StorageConfig;
}

export interface RestoreResult {
  manifest: SnapshotManifest;
  dataDir: string;
  blobBytes: number;
}

/** What an empty DATA_DIR may hold: a filesystem's own directory when DATA_DIR is a mount point. */
const IGNORED = new Set(['lost+found']);
/** Blobs copied at once. */
const BLOB_CONCURRENCY = 8;

/**
 * Restores a SQLite snapshot into an empty DATA_DIR: checks the target, verifies the whole snapshot
 * (verify.ts), copies it into a temporary directory beside DATA_DIR (blobs through the blob store's
 * own commit, which hashes them again), checks the copied databases' checksums and integrity again,
 * then renames the directory into place. A damaged or incomplete snapshot, or a DATA_DIR that is
 * not empty, is refused (SnapshotRefused) with nothing written; a failure midway removes the
 * temporary directory. When DATA_DIR is a mount point (a container volume) it cannot be replaced by
 * a rename: the copy is made inside it, in `.restore-<random>`, and its entries are moved in, the
 * portal database last.
 */
export async function restoreSnapshot(snapshotDir: string, target: RestoreTarget): Promise<RestoreResult> {
  if (target.database.dialect !== 'sqlite') {
    throw new SnapshotRefused(
      'DATABASE_URL names a PostgreSQL database: restore it with pg_restore or point-in-time recovery, then copy keys/ and secrets/ from the snapshot into DATA_DIR (docs/backups.md)',
    );
  }
  const database = target.database;
  const dataDir = path.resolve(target.dataDir);
  const inside = (p: string) => p === dataDir || p.startsWith(`${dataDir}${path.sep}`);
  await refuseNonEmpty(dataDir);
  const databaseFiles = { portal: database.file, telemetry: telemetryFile(database) };
  for (const file of Object.values(databaseFiles)) {
    if (inside(file)) continue;
    for (const suffix of ['', '-wal', '-shm']) {
      if (await exists(`${file}${suffix}`)) throw new SnapshotRefused(`${file}${suffix} exists: restore writes the database there, and never over one`);
    }
  }

  const source = path.resolve(snapshotDir);
  // Said before a verification that would only find its blobs missing from the empty target.
  if ((await readManifest(source).catch(() => null))?.dialect === 'postgres') {
    throw new SnapshotRefused(
      `${source} was taken on PostgreSQL: it holds the key files and the list of blobs, not the database. Restore the database with pg_restore or point-in-time recovery, copy keys/ and secrets/ into DATA_DIR, and check the blobs with \`mosis-portal backup --verify\` (docs/backups.md)`,
    );
  }
  const { manifest, blobBytes } = await verifySnapshot(source, { packagesDir: target.packagesDir });

  const suffix = `restore-${randomBytes(6).toString('hex')}`;
  const mountPoint = await isMountPoint(dataDir);
  const staging = mountPoint ? path.join(dataDir, `.${suffix}`) : path.join(path.dirname(dataDir), `.${path.basename(dataDir)}.${suffix}`);
  /** Where the copy of a file bound for `final` is made. */
  const staged = (final: string) => (inside(final) ? path.join(staging, path.relative(dataDir, final)) : `${final}.${suffix}`);
  const outside: { staged: string; final: string }[] = [];
  const committed: string[] = [];
  await mkdir(path.dirname(staging), PRIVATE_DIR);
  await mkdir(staging, { mode: 0o700 });
  try {
    for (const db of manifest.databases) {
      const final = databaseFiles[db.name];
      const copy = staged(final);
      if (!inside(final)) outside.push({ staged: copy, final });
      await copyPrivate(path.join(source, db.file), copy);
      const problem = await checkFile(copy, db, `the copy of ${db.file}`, copy);
      if (problem !== null) throw new SnapshotRefused(`Copying ${db.file} out of the snapshot went wrong; nothing was restored:`, [problem]);
      const integrity = integrityCheck(copy);
      if (integrity.length !== 1 || integrity[0] !== 'ok') throw new SnapshotRefused(`The copy of ${db.file} fails PRAGMA integrity_check; nothing was restored:`, integrity.slice(0, 3));
    }
    for (const file of manifest.files) {
      const copy = path.join(staging, file.path);
      await copyPrivate(path.join(source, file.path), copy);
      const problem = await checkFile(copy, file, `the copy of ${file.path}`, copy);
      if (problem !== null) throw new SnapshotRefused(`Copying ${file.path} out of the snapshot went wrong; nothing was restored:`, [problem]);
    }
    // Blobs go in through the store's own commit: hashed as they are copied, fsynced, renamed. A
    // PACKAGES_DIR outside DATA_DIR gets them directly (content-addressed: adding one is harmless),
    // and so does an S3 bucket (a blob left there by a restore that then fails is collected by gc).
    const s3 = target.storage?.kind === 's3' ? target.storage : null;
    const packagesRoot = inside(target.packagesDir) ? staged(target.packagesDir) : target.packagesDir;
    let blobDirs = new Set<string>();
    if (s3 !== null) {
      const localDir = path.join(staging, '.s3-restore');
      const store = await openBlobStore(s3, { localDir });
      try {
        await copyBlobsInto(store, manifest, source);
      } finally {
        await store.close?.();
        await rm(localDir, { recursive: true, force: true });
      }
    } else {
      blobDirs = await copyBlobs(manifest, source, packagesRoot);
    }
    // The blob store's commit made each blob's own directory durable; the names above it and the
    // copied files' directories are made durable here.
    const copiedDirs = [...manifest.databases.map((d) => staged(databaseFiles[d.name])), ...manifest.files.map((f) => path.join(staging, f.path))].map((f) => path.dirname(f));
    const inStaging = (p: string) => p === staging || p.startsWith(`${staging}${path.sep}`);
    await fsyncDirs([...copiedDirs, ...blobDirs].filter(inStaging), staging);
    if (s3 === null && !inStaging(packagesRoot)) await fsyncDirs(blobDirs, packagesRoot);

    for (const file of outside) {
      if (await exists(file.final)) throw new SnapshotRefused(`${file.final} appeared while the snapshot was being restored; nothing was restored`);
      await rename(file.staged, file.final);
      committed.push(file.final);
      await fsyncPath(path.dirname(file.final));
    }
    if (mountPoint) await moveEntriesIn(staging, dataDir, databaseFiles.portal);
    else await renameOverEmpty(staging, dataDir);
    await fsyncPath(path.dirname(dataDir));
    return { manifest, dataDir, blobBytes };
  } catch (err) {
    await removeQuietly(staging);
    for (const file of outside) await rm(file.staged, { force: true }).catch(() => undefined);
    for (const file of committed) await unlink(file).catch(() => undefined);
    throw err;
  }
}

/** Copies every blob into the store at `packagesRoot`; answers the directories made above the blobs' own. */
async function copyBlobs(manifest: SnapshotManifest, snapshot: string, packagesRoot: string): Promise<Set<string>> {
  await mkdir(packagesRoot, PRIVATE_DIR);
  const dirs = new Set<string>();
  await copyBlobsInto(new FsBlobStore(packagesRoot), manifest, snapshot, (sha256) => dirs.add(path.dirname(path.dirname(storedBlobPath(packagesRoot, sha256)))));
  await rmdir(path.join(packagesRoot, '.staging')).catch(() => undefined);
  return dirs;
}

/** Copies every blob of the snapshot into `store`, each hashed again on its way in. */
async function copyBlobsInto(store: BlobStore, manifest: SnapshotManifest, snapshot: string, committed?: (sha256: string) => void): Promise<void> {
  await eachConcurrently(manifest.blobs, BLOB_CONCURRENCY, async (blob) => {
    const stagedBlob = await store.stage(createReadStream(snapshotBlobPath(snapshot, blob.sha256)), { maxBytes: blob.size });
    if (stagedBlob.sha256 !== blob.sha256 || stagedBlob.size !== blob.size) {
      await stagedBlob.discard();
      throw new SnapshotRefused(`Copying blob ${blob.sha256} out of the snapshot went wrong (its copy hashes to ${stagedBlob.sha256}); nothing was restored`);
    }
    await stagedBlob.commit();
    await stagedBlob.discard();
    committed?.(blob.sha256);
  });
}

async function refuseNonEmpty(dataDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new SnapshotRefused(`DATA_DIR ${dataDir} is a file, not a directory`);
    throw err;
  }
  const present = entries.filter((e) => !IGNORED.has(e));
  if (present.length > 0) {
    const shown = present.slice(0, 5).join(', ') + (present.length > 5 ? `, … (${present.length} entries)` : '');
    throw new SnapshotRefused(
      `DATA_DIR ${dataDir} is not empty (it holds ${shown}): restore only ever writes into an empty DATA_DIR. Stop the portal and move the directory aside first (mv ${dataDir} ${dataDir}.old), or point DATA_DIR at a new one`,
    );
  }
}

/** rename() replaces an empty directory; a DATA_DIR that filled up meanwhile makes it fail. */
async function renameOverEmpty(staging: string, dataDir: string): Promise<void> {
  try {
    await rename(staging, dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new SnapshotRefused(`DATA_DIR ${dataDir} is no longer empty (something wrote into it during the restore); nothing was restored`);
    throw err;
  }
}

/** For a DATA_DIR that is a mount point: its entries moved in one by one, the portal database last. */
async function moveEntriesIn(staging: string, dataDir: string, portalFile: string): Promise<void> {
  const portal = path.relative(dataDir, portalFile);
  const entries = (await readdir(staging)).sort((a, b) => Number(a === portal) - Number(b === portal));
  for (const entry of entries) {
    if (await exists(path.join(dataDir, entry))) throw new SnapshotRefused(`DATA_DIR ${dataDir} is no longer empty (${entry} appeared during the restore)`);
  }
  for (const entry of entries) await rename(path.join(staging, entry), path.join(dataDir, entry));
  await rmdir(staging);
  await fsyncPath(dataDir);
}

async function isMountPoint(dir: string): Promise<boolean> {
  try {
    const [own, parent] = await Promise.all([stat(dir), stat(path.dirname(dir))]);
    return own.dev !== parent.dev;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
