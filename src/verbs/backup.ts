import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SnapshotManifest } from '../backup/index.js';
import type { Config } from '../config/index.js';
import { UsageError, type Verb } from './verb.js';

export const backupVerb: Verb = {
  name: 'backup',
  summary: 'take an online snapshot (or, with --verify, check one)',
  usage: 'mosis-portal backup [--to <dir>] | mosis-portal backup --verify <snapshot>',
  help: `Takes a consistent snapshot while the portal keeps serving, into a new directory named by
its UTC time under BACKUPS_DIR (or under --to <dir>): the SQLite database files (portal.db,
telemetry.db) as of one moment, the key files of DATA_DIR (keys/, secrets/: without them 2FA,
webhook secrets and store signatures are lost), every package and image blob the database refers
to (hard links when BACKUPS_DIR is on the same filesystem as PACKAGES_DIR, so they take no space),
and manifest.json with the checksum of each. The snapshot holds secrets: it is made 0700, its
files 0600. On PostgreSQL only the key files and the list of referenced blobs are written: back
the database up with pg_dump or point-in-time recovery (docs/backups.md).

--verify <snapshot>: checks a snapshot without changing it: the manifest, each file's SHA-256,
PRAGMA integrity_check of each database, every listed blob; exit code 2 when it is damaged or
incomplete, naming each problem. Restore with \`mosis-portal restore\`.`,
  run: (config, args) => backup(config, args),
};

async function backup(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { to: { type: 'string' }, verify: { type: 'string' } }, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`backup takes no arguments besides its options (got ${positionals.join(' ')}); to check a snapshot: backup --verify <snapshot>`);
  if (values.verify !== undefined) {
    if (values.to !== undefined) throw new UsageError('backup: --verify and --to do not go together');
    return verify(config, values.verify);
  }
  const into = path.resolve(values.to ?? config.backupsDir);
  const [{ createSnapshot }, { createCore }] = await Promise.all([import('../backup/index.js'), import('../core.js')]);
  // Not withCore: a backup must not migrate (one taken before an upgrade is the way back from it).
  const core = await createCore({ ...config, logLevel: 'warn' });
  try {
    const started = performance.now();
    const source = { database: config.database, dataDir: config.dataDir, blobs: core.blobs, db: core.db, isReferenced: (sha256: string) => core.blobReferences.isReferenced(sha256) };
    const { dir, manifest, placed } = await createSnapshot(source, { into, now: core.clock.now() });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`Snapshot written to ${dir} in ${seconds} s:`);
    for (const line of describe(manifest)) console.log(`  ${line}`);
    if (manifest.blobs_location === 'snapshot') console.log(`  (blobs: ${placed.linked} hard-linked, ${placed.copied} copied)`);
    if (manifest.dialect === 'postgres') {
      console.log('The database is not in it: on PostgreSQL back it up with pg_dump or point-in-time recovery (docs/backups.md).');
    }
    console.log(`Check it with: mosis-portal backup --verify ${dir}`);
  } finally {
    await core.close();
  }
}

async function verify(config: Config, snapshot: string): Promise<void> {
  const { SnapshotRefused, verifySnapshot } = await import('../backup/index.js');
  // A PostgreSQL snapshot's blobs are checked where the portal keeps them: PACKAGES_DIR or the bucket.
  const { openBlobStore } = await import('../storage/index.js');
  const blobs = config.storage.kind === 's3' ? await openBlobStore(config.storage, { localDir: path.join(config.dataDir, 'staging') }) : undefined;
  try {
    const { dir, manifest } = await verifySnapshot(snapshot, { packagesDir: config.packagesDir, ...(blobs ? { blobs } : {}) });
    console.log(`Snapshot ${dir} is good (taken ${manifest.created_at} by portal ${manifest.portal_version}):`);
    for (const line of describe(manifest)) console.log(`  ${line}`);
  } catch (err) {
    if (err instanceof SnapshotRefused) throw new UsageError(err.message);
    throw err;
  } finally {
    await blobs?.close?.();
  }
}

/** One line per part of a snapshot, for the operator. */
export function describe(manifest: SnapshotManifest): string[] {
  const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  const lines = manifest.databases.map((d) => `${d.file}: ${mib(d.size)}, ${d.migrations.length} migrations (last ${d.migrations.at(-1) ?? 'none'})`);
  lines.push(`${manifest.files.length} key file(s): ${manifest.files.map((f) => f.path).join(', ') || 'none (SECRETS_KEY and the keys must then be kept elsewhere)'}`);
  const bytes = manifest.blobs.reduce((sum, b) => sum + b.size, 0);
  lines.push(`${manifest.blobs.length} blob(s), ${mib(bytes)}${manifest.blobs_location === 'packages_dir' ? ', listed with their checksums (they stay in the blob store: PACKAGES_DIR or the bucket)' : ''}`);
  return lines;
}
