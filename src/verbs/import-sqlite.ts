import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ImportReport } from '../backup/index.js';
import type { Config } from '../config/index.js';
import type { BlobStore } from '../storage/index.js';
import { UsageError, type Verb } from './verb.js';

export const importSqliteVerb: Verb = {
  name: 'import-sqlite',
  summary: 'move a SQLite portal (one NAS) into PostgreSQL and the configured blob store',
  usage: 'mosis-portal import-sqlite --from <old DATA_DIR> [--from-packages <dir>] [--verify-only] [--json]',
  help: `Run with the NEW configuration in the environment (DATABASE_URL=postgres://…, DATA_DIR, and the
blob store) and the old portal stopped. Copies, in this order:
  1. every blob of the old PACKAGES_DIR (--from-packages, default <old DATA_DIR>/packages) into the
     new blob store, each one's SHA-256 checked as it is staged (a damaged blob stops the import
     before any table is written);
  2. the key files of the old DATA_DIR (keys/, secrets/: token, store, device-id and account-secret
     keys) into the new DATA_DIR, 0600; a different key file already there is refused;
  3. every table of portal.db and telemetry.db into PostgreSQL in ONE transaction (all rows or
     none), in foreign-key order, in batches; identity columns and sequences continue after the
     copied ids. Rows a portal started on the new database made for itself (recurring jobs) are
     replaced.
Then verifies: the row count and a SHA-256 over the rows of each table in primary-key order, on
both sides, and every blob a version or an image names, read back from the destination with its
size and hash. Prints a table (--json: one JSON object); progress goes to stderr.

--verify-only: only the verification, nothing is written.

Refused (exit code 2, nothing changed): a destination that is not PostgreSQL; a destination with
users or apps; a source that is not a portal database or is not at this build's schema version
(run this build once on the old DATA_DIR: mosis-portal migrate); a portal that seems to be running
on the source (a non-empty portal.db-wal, or job leases not run out); damaged blobs; key files that
differ. Exit codes: 0 copied (or verified) and every check equal, 1 a failure or a verification
that found a difference, 2 refused.`,
  run: (config, args) => importSqlite(config, args),
};

/** Where the blobs go: the new configuration's blob store, opened as the portal's core opens it. */
export async function destinationBlobs(config: Config): Promise<BlobStore> {
  const { openBlobStore } = await import('../storage/index.js');
  return openBlobStore(config.storage, { localDir: path.join(config.dataDir, 'staging') });
}

async function importSqlite(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { from: { type: 'string' }, 'from-packages': { type: 'string' }, 'verify-only': { type: 'boolean' }, json: { type: 'boolean' } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`import-sqlite takes no arguments besides its options (got ${positionals.join(' ')})`);
  if (values.from === undefined) throw new UsageError('import-sqlite needs --from <old DATA_DIR> (the directory holding the old portal.db)');
  const fromDir = path.resolve(values.from);
  if (config.database.dialect === 'sqlite' && path.resolve(config.database.file) === path.join(fromDir, 'portal.db')) {
    throw new UsageError('import-sqlite: the destination is the source itself; set DATABASE_URL=postgres://… (the new configuration)');
  }
  const { importSqlite: run, SnapshotRefused } = await import('../backup/index.js');
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  let report: ImportReport;
  const blobs = await destinationBlobs(config);
  try {
    report = await run(
      { dataDir: fromDir, packagesDir: path.resolve(values['from-packages'] ?? path.join(fromDir, 'packages')) },
      { database: config.database, dataDir: config.dataDir, blobs },
      { verifyOnly: values['verify-only'] === true, progress },
    );
  } catch (err) {
    if (err instanceof SnapshotRefused) throw new UsageError(err.message);
    throw err;
  } finally {
    await blobs.close?.();
  }
  if (values.json === true) console.log(JSON.stringify(report, null, 2));
  else for (const line of summary(report)) console.log(line);
  if (!report.ok) throw new Error(report.verify_only ? 'the verification found differences (see above)' : 'imported, but the verification found differences (see above)');
}

function summary(report: ImportReport): string[] {
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  const lines = [`${'table'.padEnd(width)}  ${'source'.padStart(9)}  ${'dest'.padStart(9)}  sha256`];
  for (const t of report.tables) {
    lines.push(`${t.table.padEnd(width)}  ${String(t.source_rows).padStart(9)}  ${String(t.destination_rows).padStart(9)}  ${t.match ? `equal ${t.source_sha256.slice(0, 12)}` : 'DIFFERENT'}`);
  }
  const b = report.blobs;
  if (!report.verify_only) {
    lines.push(`Blobs: ${b.stored_in_source} in the source, ${b.copied} copied, ${b.already_there} already in the destination.`);
    lines.push(`Key files: ${report.key_files.copied.length} copied${report.key_files.copied.length > 0 ? ` (${report.key_files.copied.join(', ')})` : ''}, ${report.key_files.identical.length} already there and identical.`);
  }
  lines.push(`Referenced blobs: ${b.verified} of ${b.referenced} read back with their size and SHA-256.`);
  for (const problem of b.problems) lines.push(`  - ${problem}`);
  const differing = report.tables.filter((t) => !t.match).length;
  lines.push(
    report.ok
      ? `${report.verify_only ? 'Verified' : 'Imported and verified'} in ${report.seconds.toFixed(1)} s: every table and blob is equal.`
      : `${differing} table(s) and ${b.problems.length} blob(s) differ.`,
  );
  return lines;
}
