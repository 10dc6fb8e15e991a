/**
 * `node --import tsx bench/backup.ts [--apps N] [--blob-kib K] [--keep]`: times `mosis-portal backup`,
 * `backup --verify` and `restore` (the compiled dist/, as an operator runs them; build first) on a
 * portal of N apps (default 10 000), seeded straight into SQLite by store-seed.ts (5 published
 * versions per app), each app's versions pointing at a package blob of its own of K KiB (default 64)
 * of random bytes, written into PACKAGES_DIR as the blob store lays it out. Backups are taken twice:
 * into BACKUPS_DIR on the same filesystem (blobs hard-linked) and with --to on another (/dev/shm,
 * blobs copied). Writes bench/results/backup.json.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { migrateToLatest, openDatabase } from '../src/db/index.js';
import { seedStore } from './store-seed.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const apps = arg('--apps', 10_000);
const blobKiB = arg('--blob-kib', 64);

const results = path.join(ROOT, 'bench/results');
await mkdir(results, { recursive: true });
const work = await mkdtemp(path.join(results, 'backup-'));
const dataDir = path.join(work, 'data');
const otherFs = await mkdtemp('/dev/shm/mosis-backup-bench-');

function timed(args: string[], env: Record<string, string>): { seconds: number; output: string } {
  const started = process.hrtime.bigint();
  const output = execFileSync(process.execPath, [path.join(ROOT, 'dist/main.js'), ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8' });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, output };
}

/** MiB the trees take on disk together, each file counted once however many names it has. */
function diskMiB(...dirs: string[]): number {
  return Math.round(Number(execFileSync('du', ['-skc', ...dirs], { encoding: 'utf8' }).trim().split('\n').at(-1)!.split('\t')[0]) / 1024);
}

/** MiB of the files' sizes, every name counted (what a copy without hard links would take). */
function apparentMiB(dir: string): number {
  return Math.round(Number(execFileSync('du', ['-sk', '--apparent-size', '-l', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024);
}

try {
  const seedStarted = process.hrtime.bigint();
  const database = openDatabase({ dialect: 'sqlite', file: path.join(dataDir, 'portal.db') });
  await migrateToLatest(database.db);
  await database.close();
  const seeded = await seedStore(dataDir, { apps, packageMiB: 1 });
  // One blob of its own per app, which all its versions refer to.
  const db = new SQLite(path.join(dataDir, 'portal.db'));
  const appIds = db.prepare('select id from apps order by id').pluck().all() as string[];
  const update = db.prepare('update versions set sha256 = ?, size = ? where app_id = ?');
  const blobs: { appId: string; sha256: string }[] = [];
  for (const appId of appIds) {
    const bytes = randomBytes(blobKiB * 1024);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const dir = path.join(dataDir, 'packages', 'sha256', sha256.slice(0, 2), sha256.slice(2, 4));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(dir, sha256), bytes, { mode: 0o600 });
    blobs.push({ appId, sha256 });
  }
  db.transaction(() => {
    for (const { appId, sha256 } of blobs) update.run(sha256, blobKiB * 1024, appId);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  execFileSync('sync');
  const seedSeconds = Number(process.hrtime.bigint() - seedStarted) / 1e9;
  console.log(`seeded ${seeded.apps} apps, ${seeded.versions} versions, ${blobs.length} blobs of ${blobKiB} KiB in ${seedSeconds.toFixed(1)} s`);

  const env = { DATA_DIR: dataDir };
  const sameFs = timed(['backup'], env);
  const [snapshotName] = await readdir(path.join(dataDir, 'backups'));
  const snapshot = path.join(dataDir, 'backups', snapshotName!);
  console.log(sameFs.output);
  // A second snapshot a second later: the hourly case, everything linked again.
  await new Promise((r) => setTimeout(r, 1100));
  const second = timed(['backup'], env);
  const [, againName] = (await readdir(path.join(dataDir, 'backups'))).sort();
  // On another filesystem the first snapshot copies the blobs, the next one links to its copies.
  const copied = timed(['backup', '--to', otherFs], env);
  console.log(copied.output);
  const [copiedName] = await readdir(otherFs);
  await new Promise((r) => setTimeout(r, 1100));
  const copiedAgain = timed(['backup', '--to', otherFs], env);
  const verify = timed(['backup', '--verify', snapshot], env);
  const restoredDir = path.join(work, 'restored');
  const restore = timed(['restore', snapshot], { DATA_DIR: restoredDir });
  console.log(restore.output);

  const report = {
    date: new Date().toISOString(),
    apps,
    versions: seeded.versions,
    blobs: blobs.length,
    blobKiB,
    portalDbMiB: apparentMiB(path.join(dataDir, 'portal.db')),
    packagesMiB: apparentMiB(path.join(dataDir, 'packages')),
    seedSeconds: Number(seedSeconds.toFixed(1)),
    backupSameFsSeconds: Number(sameFs.seconds.toFixed(2)),
    backupSameFsAgainSeconds: Number(second.seconds.toFixed(2)),
    snapshotApparentMiB: apparentMiB(snapshot),
    // What the snapshots add to the disk beside the store they link to.
    snapshotSameFsExtraMiB: diskMiB(path.join(dataDir, 'packages'), snapshot) - diskMiB(path.join(dataDir, 'packages')),
    secondSnapshotExtraMiB: diskMiB(path.join(dataDir, 'packages'), snapshot, path.join(dataDir, 'backups', againName!)) - diskMiB(path.join(dataDir, 'packages'), snapshot),
    backupOtherFsSeconds: Number(copied.seconds.toFixed(2)),
    backupOtherFsAgainSeconds: Number(copiedAgain.seconds.toFixed(2)),
    snapshotsOtherFsDiskMiB: diskMiB(otherFs),
    firstSnapshotOtherFsDiskMiB: diskMiB(path.join(otherFs, copiedName!)),
    verifySeconds: Number(verify.seconds.toFixed(2)),
    restoreSeconds: Number(restore.seconds.toFixed(2)),
    restoredDiskMiB: diskMiB(restoredDir),
  };
  console.table(report);
  await writeFile(path.join(results, 'backup.json'), `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await rm(otherFs, { recursive: true, force: true });
  if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
}
