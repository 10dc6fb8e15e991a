import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import type { DatabaseConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import { telemetryFile } from '../db/telemetry.js';
import type { BlobStore } from '../storage/index.js';
import { copyPrivate, digestFile, eachConcurrently, fsyncDirs, fsyncPath, linkOrCopy, PRIVATE_DIR, removeQuietly, snapshotBlobPath, type Placed } from './files.js';
import { FORMAT, FORMAT_VERSION, MANIFEST_FILE, manifestText, portalVersion, type ManifestDatabase, type SnapshotManifest } from './manifest.js';
import { copyDatabases } from './sqlite-copy.js';
import { listSnapshots, snapshotName, TEMP_PREFIX } from './snapshots.js';

/** What a snapshot is taken of: the portal's own state, as its core sees it. */
export interface SnapshotSource {
  database: DatabaseConfig;
  dataDir: string;
  blobs: BlobStore;
  /** Whether any feature still refers to a blob (the core's BlobReferences). */
  isReferenced: (sha256: string) => Promise<boolean>;
  /** The portal's database, for the migrations a PostgreSQL database has (SQLite's are read from the copy). */
  db: Db;
}

export interface SnapshotOptions {
  /** The directory the snapshot directory is made in (BACKUPS_DIR, or `backup --to`). */
  into: string;
  /** Names the snapshot (its UTC time) and goes into the manifest as created_at. */
  now: Date;
  /** Stops between steps; the temporary directory is removed. */
  signal?: AbortSignal;
}

export interface SnapshotResult {
  dir: string;
  manifest: SnapshotManifest;
  /** Blobs hard-linked (no space used) and copied into the snapshot. */
  placed: Record<Placed, number>;
}

/** DATA_DIR's directories of keys and secrets: without them sealed TOTP secrets, webhook secrets and signatures are lost. */
export const KEY_DIRS = ['keys', 'secrets'] as const;
/** Blobs linked (or copied) at once. */
const BLOB_CONCURRENCY = 8;
/** A temporary directory older than this belongs to a snapshot that was cut off (a crash, kill -9). */
const STALE_TEMP_MS = 24 * 3600_000;

/**
 * Takes a snapshot while the portal keeps serving. SQLite: each database file copied as of one
 * moment (VACUUM INTO, on a thread), DATA_DIR's key files, and every blob a row of that copy refers
 * to, hard-linked from the blob store (or from an earlier snapshot on the same filesystem, or copied
 * when neither can be linked). PostgreSQL: the key files and the list of referenced blobs only;
 * the database is pg_dump's. All of it is written under `.tmp-<name>-<random>`, the manifest
 * last, fsynced, then renamed to `<name>`: a crash never leaves anything that looks complete.
 */
export async function createSnapshot(source: SnapshotSource, options: SnapshotOptions): Promise<SnapshotResult> {
  await mkdir(options.into, PRIVATE_DIR);
  await removeStaleTemps(options.into);
  const earlier = (await listSnapshots(options.into, options.now)).reverse();
  const temp = path.join(options.into, `${TEMP_PREFIX}${snapshotName(options.now)}-${randomBytes(6).toString('hex')}`);
  await mkdir(temp, { mode: 0o700 });
  try {
    const dirs = new Set<string>([temp]);
    const databases: ManifestDatabase[] = [];
    const named = new Set<string>();
    let migrations: string[] = [];
    const database = source.database;
    if (database.dialect === 'sqlite') {
      // Telemetry's file exists once a device has sent something.
      const files: { name: ManifestDatabase['name']; file: string }[] = [{ name: 'portal', file: database.file }];
      if (await exists(telemetryFile(database))) files.push({ name: 'telemetry', file: telemetryFile(database) });
      const copies = await copyDatabases(files.map(({ name, file }) => ({ source: file, target: path.join(temp, `${name}.db`), named: name === 'portal' })));
      for (const [i, copied] of copies.entries()) {
        const name = files[i]!.name;
        for (const sha of copied.named) named.add(sha);
        databases.push({ name, file: `${name}.db`, size: copied.size, sha256: copied.sha256, migrations: copied.migrations });
      }
    } else {
      migrations = await appliedMigrations(source.db);
    }

    const files: SnapshotManifest['files'] = [];
    for (const relative of await keyFiles(source.dataDir)) {
      options.signal?.throwIfAborted();
      const target = path.join(temp, relative);
      await copyPrivate(path.join(source.dataDir, relative), target);
      dirs.add(path.dirname(target));
      files.push({ path: relative.split(path.sep).join('/'), ...(await digestFile(target)) });
    }

    const blobs: SnapshotManifest['blobs'] = [];
    const placed: Record<Placed, number> = { linked: 0, copied: 0 };
    const inSnapshot = database.dialect === 'sqlite';
    const stored: string[] = [];
    for await (const sha256 of source.blobs.list()) stored.push(sha256);
    // Referenced: named by a row of the copy (exactly what a restore needs), or claimed by a feature's
    // own check (BlobReferences, for references kept in a form the scan cannot see).
    await eachConcurrently(stored, BLOB_CONCURRENCY, async (sha256) => {
      options.signal?.throwIfAborted();
      if (!named.has(sha256) && !(await source.isReferenced(sha256))) return;
      if (!inSnapshot) {
        // Listed only: its size is enough, and a remote store (S3) need not send the bytes.
        const size = await source.blobs.size(sha256);
        if (size === null) throw vanished(sha256);
        blobs.push({ sha256, size });
        return;
      }
      const local = await source.blobs.localFile(sha256);
      if (local === null) throw vanished(sha256);
      try {
        const target = snapshotBlobPath(temp, sha256);
        const sources = [local.path, ...earlier.map((s) => snapshotBlobPath(s.dir, sha256))];
        let how = await linkOrCopy(sources, target).catch((err: unknown) => {
          throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? vanished(sha256) : err;
        });
        const size = (await stat(local.path)).size;
        // A link to an earlier snapshot's copy that is not the blob (damaged since): copy the store's.
        if ((await lstat(target)).size !== size) {
          await removeQuietly(target);
          await copyPrivate(local.path, target);
          how = 'copied';
        }
        placed[how] += 1;
        dirs.add(path.dirname(target));
        blobs.push({ sha256, size });
      } finally {
        await local.release();
      }
    });
    blobs.sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));

    const manifest: SnapshotManifest = {
      format: FORMAT,
      format_version: FORMAT_VERSION,
      created_at: options.now.toISOString(),
      portal_version: portalVersion(),
      dialect: database.dialect,
      databases,
      migrations,
      files,
      blobs_location: inSnapshot ? 'snapshot' : 'packages_dir',
      blobs,
    };
    options.signal?.throwIfAborted();
    await writeFile(path.join(temp, MANIFEST_FILE), manifestText(manifest), { mode: 0o600, flush: true });
    await fsyncDirs(dirs, temp);
    const dir = await renameIntoPlace(temp, options.into, options.now);
    return { dir, manifest, placed };
  } catch (err) {
    await removeQuietly(temp);
    throw err;
  }
}

/** Renames the finished snapshot to the first free name for its time, then makes the rename durable. */
async function renameIntoPlace(temp: string, into: string, now: Date): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    const dir = path.join(into, snapshotName(now, attempt));
    // rename() would replace an empty directory of that name: a taken name is skipped first.
    if (await exists(dir)) continue;
    try {
      await rename(temp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') continue;
      throw err;
    }
    await fsyncPath(into);
    return dir;
  }
}

/** Key files under DATA_DIR (keys/, secrets/), relative to it; temporary files of a key rotation are left out. */
export async function keyFiles(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(dataDir, relative), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && !entry.name.endsWith('.tmp')) found.push(child);
    }
  };
  for (const dir of KEY_DIRS) await walk(dir);
  return found;
}

async function removeStaleTemps(into: string): Promise<void> {
  for (const name of await readdir(into)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    // lstat: a link is judged (and removed) as itself; gone meanwhile (another backup finished) is fine.
    const found = await lstat(path.join(into, name)).catch(() => null);
    // The file system's clock, not the portal's: mtimes are real time.
    if (found !== null && Date.now() - found.mtimeMs > STALE_TEMP_MS) await removeQuietly(path.join(into, name));
  }
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.map((row) => row.name);
}

function vanished(sha256: string): Error {
  return new Error(`blob ${sha256} was deleted while the snapshot was being taken (collected by gc after its rows went?): take the snapshot again`);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
