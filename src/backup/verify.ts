import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { migrations } from '../db/migrations/index.js';
import { telemetryMigrations } from '../db/telemetry-migrations/index.js';
import { digestFile, eachConcurrently, snapshotBlobPath, storedBlobPath } from './files.js';
import { portalVersion, readManifest, type SnapshotManifest } from './manifest.js';
import { SnapshotRefused } from './refused.js';
import type { BlobStore } from '../storage/index.js';
import { integrityCheck } from './sqlite-files.js';

export interface VerifiedSnapshot {
  dir: string;
  manifest: SnapshotManifest;
  /** Bytes of blobs checked. */
  blobBytes: number;
}

/** Blobs hashed at once: reading several files keeps a NAS's disks busy where one stream would wait. */
const BLOB_CONCURRENCY = 4;

/**
 * Checks a snapshot against its manifest without changing it: each database file's size, SHA-256
 * and `PRAGMA integrity_check`; that its migrations are ones this portal knows; each key file's
 * checksum; each listed blob's presence, size and SHA-256 (in the snapshot, or, for a PostgreSQL
 * snapshot's list, in PACKAGES_DIR or in `blobs` when the portal stores them elsewhere, S3). Throws
 * SnapshotRefused naming every problem found.
 */
export async function verifySnapshot(dir: string, options: { packagesDir: string; blobs?: BlobStore }): Promise<VerifiedSnapshot> {
  const root = path.resolve(dir);
  const isDir = await stat(root).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new SnapshotRefused(`${root} is not a snapshot directory (no such directory)`);
  const manifest = await readManifest(root);
  const problems: string[] = [];

  if (manifest.dialect === 'sqlite' && !manifest.databases.some((d) => d.name === 'portal')) problems.push('the manifest lists no portal database');
  for (const database of manifest.databases) {
    const file = path.join(root, database.file);
    const found = await checkFile(file, database, `database file ${database.file}`);
    if (found !== null) {
      problems.push(found);
      // A missing file has nothing more to tell; a damaged one may say where it is damaged.
      if (found.includes('is missing')) continue;
    }
    try {
      const answer = integrityCheck(file);
      if (answer.length !== 1 || answer[0] !== 'ok') problems.push(`database file ${database.file} fails PRAGMA integrity_check: ${answer.slice(0, 3).join('; ')}`);
    } catch (err) {
      problems.push(`database file ${database.file} cannot be opened by SQLite: ${(err as Error).message}`);
    }
    const known = Object.keys(database.name === 'portal' ? migrations : telemetryMigrations);
    const unknown = database.migrations.filter((m) => !known.includes(m));
    if (unknown.length > 0) {
      problems.push(
        `database file ${database.file} has migrations this portal (${portalVersion()}) does not know: ${unknown.join(', ')}; it was taken by portal ${manifest.portal_version}: restore it with that version or a newer one`,
      );
    }
  }

  for (const file of manifest.files) {
    const found = await checkFile(path.join(root, file.path), file, `key file ${file.path}`);
    if (found !== null) problems.push(found);
  }

  const located = (sha256: string) => (manifest.blobs_location === 'snapshot' ? snapshotBlobPath(root, sha256) : storedBlobPath(options.packagesDir, sha256));
  const where = manifest.blobs_location === 'snapshot' ? 'the snapshot' : `PACKAGES_DIR (${options.packagesDir})`;
  let blobBytes = 0;
  const store = manifest.blobs_location === 'snapshot' ? undefined : options.blobs;
  await eachConcurrently(manifest.blobs, BLOB_CONCURRENCY, async (blob) => {
    const found = store ? await checkStoredBlob(store, blob) : await checkFile(located(blob.sha256), blob, `blob ${blob.sha256}`, where);
    if (found !== null) problems.push(found);
    else blobBytes += blob.size;
  });

  if (problems.length > 0) {
    throw new SnapshotRefused(`Snapshot ${root} is damaged or incomplete (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was restored from it:`, problems);
  }
  return { dir: root, manifest, blobBytes };
}

/** Null when the file is there with the expected size and SHA-256; otherwise what is wrong, in a line. */
export async function checkFile(file: string, expected: { size: number; sha256: string }, what: string, where = 'the snapshot'): Promise<string | null> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) return `${what} is missing from ${where} (${file} is not a file)`;
    size = s.size;
  } catch {
    return `${what} is missing from ${where} (${file})`;
  }
  if (size !== expected.size) return `${what} has ${size} bytes, the manifest says ${expected.size} (truncated or replaced)`;
  const digest = await digestFile(file);
  if (digest.sha256 !== expected.sha256) return `${what} has SHA-256 ${digest.sha256}, the manifest says ${expected.sha256} (its bytes changed)`;
  return null;
}

/** checkFile for a blob in a blob store that is not PACKAGES_DIR (S3): read back and hashed. */
async function checkStoredBlob(store: BlobStore, expected: { size: number; sha256: string }): Promise<string | null> {
  const what = `blob ${expected.sha256}`;
  const size = await store.size(expected.sha256);
  if (size === null) return `${what} is missing from the blob store`;
  if (size !== expected.size) return `${what} has ${size} bytes, the manifest says ${expected.size} (truncated or replaced)`;
  const hash = createHash('sha256');
  for await (const chunk of store.read(expected.sha256)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  if (digest !== expected.sha256) return `${what} has SHA-256 ${digest}, the manifest says ${expected.sha256} (its bytes changed)`;
  return null;
}
