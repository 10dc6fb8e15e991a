import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { Config } from '../config/index.js';
import { litestreamBinary, replicatedDatabases, writeLitestreamConfig, type ReplicaName, type ReplicatedDatabase } from './litestream.js';
import { UsageError, type Verb } from './verb.js';

export const litestreamRestoreVerb: Verb = {
  name: 'litestream-restore',
  summary: "restore the portal's SQLite files from Litestream's replica (after a lost or damaged disk)",
  usage: 'mosis-portal litestream-restore [--timestamp <ISO-8601 time>] [--replica file|s3]',
  help: `Restores the portal database and telemetry.db with \`litestream restore\` from the replicas that
\`mosis-portal replicate\` wrote (the file replica in BACKUPS_DIR/litestream, and the bucket of
LITESTREAM_S3_URL when it is set), into the paths the configuration names (DATA_DIR by default),
then checks each restored file (SQLite quick_check). Stop the portal first. The databases must not
exist: a portal database or telemetry.db, or a -wal or -shm file of one, is refused, never
overwritten. Anything else in DATA_DIR stays as it is: Litestream has only the databases, so bring
keys/ and secrets/ back from a snapshot (docs/litestream.md, the restore drill).

  --timestamp <time>  restore both databases as they were at this time (e.g. 2026-12-02T09:00:00Z),
                      within the retention (LITESTREAM_RETENTION_HOURS); default: the latest
  --replica file|s3   restore from this replica; default: whichever has the latest data

Exit codes: 0 restored; 1 failed (no replica of the portal database, Litestream failed; nothing
restored is left behind); 2 wrong usage, a database already there, or PostgreSQL.`,
  run: (config, args) => litestreamRestore(config, args),
};

const execFileAsync = promisify(execFile);

/** SQLite's companions of a database file. */
const COMPANIONS = ['', '-wal', '-shm'];

async function litestreamRestore(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { timestamp: { type: 'string' }, replica: { type: 'string' } }, strict: true, allowPositionals: false });
  const timestamp = values.timestamp === undefined ? undefined : parseTimestamp(values.timestamp);
  const replica = values.replica === undefined ? undefined : parseReplica(values.replica, config);
  const databases = replicatedDatabases(config);

  const present: string[] = [];
  for (const { file } of databases) for (const suffix of COMPANIONS) if (await exists(`${file}${suffix}`)) present.push(`${file}${suffix}`);
  if (present.length > 0) {
    throw new UsageError(
      `${present.join(', ')} already ${present.length === 1 ? 'exists' : 'exist'}: litestream-restore never writes over a database. Stop the portal, move DATA_DIR aside (or delete those files), then run it again`,
    );
  }
  const binary = await litestreamBinary(config);
  const configFile = await writeLitestreamConfig(config);

  const restored: ReplicatedDatabase[] = [];
  try {
    for (const database of databases) {
      await mkdir(path.dirname(database.file), { recursive: true, mode: 0o700 });
      // Litestream's state for a database that is gone: left in place, it would be taken for the
      // restored database's and the next `replicate` would find it does not match.
      await rm(path.join(path.dirname(database.file), `.${database.name}-litestream`), { recursive: true, force: true });
      const portal = database === databases[0];
      const at = timestamp === undefined ? undefined : await clampToNewestChange(binary, configFile, database, timestamp, replica);
      const flags = [
        ...(at === undefined ? [] : ['-timestamp', at]),
        ...(replica === undefined ? [] : ['-replica', replica]),
        // Telemetry's file exists once a device has sent something; the portal's own must be there.
        ...(portal ? [] : ['-if-replica-exists']),
      ];
      const code = await run(binary, ['restore', '-no-expand-env', '-config', configFile, ...flags, database.file]);
      // Litestream restores into <file>.tmp, renames it, and leaves that name's -wal and -shm behind.
      await Promise.all(COMPANIONS.slice(1).map((suffix) => rm(`${database.file}.tmp${suffix}`, { force: true })));
      if (code !== 0) {
        const hint = timestamp === undefined ? '' : `; a --timestamp must lie after the first change the replica holds and within LITESTREAM_RETENTION_HOURS (${config.litestream.retentionHours} h)`;
        throw new Error(`litestream restore of ${database.file} failed (exit ${code}; its message is above${hint})`);
      }
      if (!(await exists(database.file))) {
        console.log(`mosis-portal: no replica of ${database.file}${at === undefined ? '' : ' as of that time'}: it starts empty`);
        continue;
      }
      restored.push(database);
      await chmod(database.file, 0o600);
      const check = await quickCheck(database.file);
      if (check !== 'ok') throw new Error(`${database.file} was restored but does not pass SQLite's quick_check: ${check}`);
      console.log(`mosis-portal: restored ${database.file} (${(await stat(database.file)).size} bytes, quick_check ok)`);
    }
  } catch (err) {
    // All or nothing: a half-restored pair would be started as if it were whole.
    for (const { file } of databases) for (const suffix of COMPANIONS) await rm(`${file}${suffix}`, { force: true });
    throw err;
  }
  console.log(
    `mosis-portal: restored ${restored.length} database(s)${timestamp === undefined ? '' : ` as of ${timestamp}`}. Put keys/ and secrets/ back into ${config.dataDir} if they were lost (docs/litestream.md), then start the portal: mosis-portal replicate`,
  );
}

function parseTimestamp(value: string): string {
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(time.getTime())) throw new UsageError(`--timestamp must be an ISO-8601 time such as 2026-12-02T09:00:00Z (got ${JSON.stringify(value)})`);
  // RFC 3339 in UTC, which Litestream parses.
  return time.toISOString();
}

function parseReplica(value: string, config: Config): ReplicaName {
  if (value === 'file') return value;
  if (value === 's3') {
    if (config.litestream.s3 === null) throw new UsageError('--replica s3 needs LITESTREAM_S3_URL (the bucket to restore from)');
    return value;
  }
  throw new UsageError(`--replica must be file or s3 (got ${JSON.stringify(value)})`);
}

/**
 * The time to restore a database to. Litestream finds nothing for a time after the newest change
 * its replicas hold (a quiet telemetry file, a portal nobody wrote to since): the state at such a
 * time is the latest one, so that is restored (undefined: no -timestamp). The replica's times are
 * whole seconds, hence the second of margin.
 */
async function clampToNewestChange(binary: string, configFile: string, database: ReplicatedDatabase, timestamp: string, replica: ReplicaName | undefined): Promise<string | undefined> {
  let newest = Number.NEGATIVE_INFINITY;
  try {
    for (const listing of ['snapshots', 'wal']) {
      const { stdout } = await execFileAsync(binary, [listing, '-no-expand-env', '-config', configFile, ...(replica === undefined ? [] : ['-replica', replica]), database.file], { maxBuffer: 512 * 1024 * 1024 });
      // A header, then one line per file; the last column is the time it was written.
      for (const line of stdout.trim().split('\n').slice(1)) newest = Math.max(newest, Date.parse(line.trim().split(/\s+/).at(-1) ?? ''));
    }
  } catch {
    return timestamp; // Litestream's restore says what is wrong.
  }
  if (!Number.isFinite(newest) || Date.parse(timestamp) < newest + 1000) return timestamp;
  console.log(`mosis-portal: the newest change to ${database.file} in the replica is from ${new Date(newest).toISOString()}: restoring that, its state at ${timestamp}`);
  return undefined;
}

/** Runs litestream with its output on ours; resolves to its exit code. */
function run(binary: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/** SQLite's quick_check of a restored file: 'ok', or its first complaint. Closing removes the -wal and -shm it made. */
async function quickCheck(file: string): Promise<string> {
  const { default: SQLite } = await import('better-sqlite3');
  const sqlite = new SQLite(file, { fileMustExist: true });
  try {
    const rows = sqlite.pragma('quick_check') as { quick_check: string }[];
    return rows.map((row) => row.quick_check).join('; ');
  } finally {
    sqlite.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
