import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type pg from 'pg';
import type { DatabaseConfig } from '../config/index.js';
import { int8AsNumber, migrateToLatest, openDatabase, openSqliteReadOnly, pendingMigrations, pgDriver } from '../db/index.js';
import { migrations } from '../db/migrations/index.js';
import { telemetryMigrations } from '../db/telemetry-migrations/index.js';
import { FsBlobStore, type BlobStore } from '../storage/index.js';
import { copyPrivate, eachConcurrently, SHA256 } from './files.js';
import { SnapshotRefused } from './refused.js';
import { keyFiles } from './snapshot.js';
import { appliedMigrations } from './sqlite-files.js';

/**
 * The move from one NAS (SQLite + PACKAGES_DIR) to PostgreSQL + a shared blob store: blobs first,
 * then every table in one PostgreSQL transaction, then a verification that reads both sides again.
 * The table and column lists come from the two schemas themselves (sqlite_schema, the destination's
 * catalog), checked to agree, so a new migration needs nothing here unless it adds a table that
 * only one dialect has.
 */

export interface ImportSource {
  /** The old DATA_DIR: portal.db, telemetry.db (once a device sent something), keys/, secrets/. */
  dataDir: string;
  /** The old PACKAGES_DIR (default `<dataDir>/packages`). */
  packagesDir: string;
}

export interface ImportTarget {
  database: DatabaseConfig;
  /** The new DATA_DIR, where the key files go. */
  dataDir: string;
  blobs: BlobStore;
}

export interface ImportOptions {
  verifyOnly?: boolean;
  /** A line of progress (the verb writes them to stderr). */
  progress?: (line: string) => void;
  /** Rows per INSERT and per FETCH: bounds memory whatever a table's size. */
  batchRows?: number;
  now?: Date;
}

export interface TableReport {
  table: string;
  source_rows: number;
  destination_rows: number;
  source_sha256: string;
  destination_sha256: string;
  match: boolean;
}

export interface ImportReport {
  verify_only: boolean;
  ok: boolean;
  tables: TableReport[];
  blobs: { stored_in_source: number; copied: number; already_there: number; referenced: number; verified: number; problems: string[] };
  key_files: { copied: string[]; identical: string[] };
  seconds: number;
}

/** SQLite-only tables and why PostgreSQL has none: derived data the destination rebuilds itself. */
const SQLITE_ONLY: Record<string, string> = {
  store_search_docs: 'document ids of the FTS5 index; PostgreSQL searches generated tsvector columns',
};
const BOOKKEEPING = /^kysely_migration/;
/** The destination's tables whose rows say a portal has been used there. */
const IN_USE_TABLES = ['users', 'apps'] as const;
const BLOB_CONCURRENCY = 4;
const DEFAULT_BATCH = 500;
/** PostgreSQL takes at most 65 535 parameters in one statement. */
const MAX_PARAMETERS = 60_000;

interface Column {
  name: string;
  /** PostgreSQL's data_type (information_schema). */
  pgType: string;
}

interface TablePlan {
  table: string;
  /** Which SQLite file holds it. */
  source: 'portal' | 'telemetry';
  columns: Column[];
  /** Primary-key columns (SQLite's), the order rows are read and hashed in on both sides. */
  key: string[];
  identity: boolean;
}

const q = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

export async function importSqlite(source: ImportSource, target: ImportTarget, options: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  const progress = options.progress ?? (() => undefined);
  const batch = options.batchRows ?? DEFAULT_BATCH;
  if (target.database.dialect !== 'postgres') {
    throw new SnapshotRefused('import-sqlite writes into PostgreSQL: set DATABASE_URL=postgres://… (the new configuration) and run it again', [
      `DATABASE_URL is SQLite (${target.database.file})`,
    ]);
  }
  const portalFile = path.join(source.dataDir, 'portal.db');
  const telemetryFile = path.join(source.dataDir, 'telemetry.db');
  await refuseUnlessPortalFile(portalFile);
  await refuseIfRunning(portalFile, telemetryFile);

  // Telemetry's file exists once a device has sent something; without it its tables are empty.
  const sources = { portal: openSqliteReadOnly(portalFile), telemetry: (await exists(telemetryFile)) ? openSqliteReadOnly(telemetryFile) : await emptyTelemetry() };
  const destination = openDatabase(target.database);
  const client = await connect(target.database.url);
  try {
    checkSourceMigrations(sources.portal, sources.telemetry);
    // The destination at the latest schema, the one the source has too (checked above); a
    // verification writes nothing, so there it must be migrated already.
    if (options.verifyOnly === true) {
      const pending = await pendingMigrations(destination.db);
      if (pending.length > 0) throw new SnapshotRefused('The destination database is not migrated: nothing to verify there (run the import first)', [`pending: ${pending.join(', ')}`]);
    } else {
      // Refused before anything is migrated: a used database (maybe another portal's) stays as it was.
      const used = await usedTables(client);
      if (used.length > 0) {
        throw new SnapshotRefused('The destination database already has data: import-sqlite only fills an empty one (nothing was changed)', used.map((u) => `${u.table}: ${u.rows} row(s)`));
      }
      const applied = await migrateToLatest(destination.db);
      if (applied.length > 0) progress(`Destination migrated: ${applied.join(', ')}`);
    }
    const plans = await planTables(sources.portal, sources.telemetry, client);
    const report: ImportReport = {
      verify_only: options.verifyOnly === true,
      ok: false,
      tables: [],
      blobs: { stored_in_source: 0, copied: 0, already_there: 0, referenced: 0, verified: 0, problems: [] },
      key_files: { copied: [], identical: [] },
      seconds: 0,
    };
    const sourceBlobs = new FsBlobStore(source.packagesDir);

    if (options.verifyOnly !== true) {
      const keys = await plannedKeyFiles(source.dataDir, target.dataDir);
      await copyBlobs(sources.portal, sourceBlobs, target.blobs, report, progress);
      report.key_files.identical = keys.identical;
      for (const relative of keys.copy) {
        await copyPrivate(path.join(source.dataDir, relative), path.join(target.dataDir, relative));
        report.key_files.copied.push(relative.split(path.sep).join('/'));
      }
      if (keys.copy.length > 0) progress(`Key files copied: ${keys.copy.join(', ')}`);
      await copyTables(plans, sources, client, batch, progress);
    }

    progress('Verifying…');
    report.tables = await verifyTables(plans, sources, client, batch, progress);
    await verifyBlobs(sources.portal, sourceBlobs, target.blobs, report, progress);
    report.ok = report.tables.every((t) => t.match) && report.blobs.problems.length === 0;
    report.seconds = (performance.now() - started) / 1000;
    return report;
  } finally {
    sources.portal.close();
    sources.telemetry?.close();
    await client.end();
    await destination.close();
  }
}

async function refuseUnlessPortalFile(file: string): Promise<void> {
  if (!(await exists(file))) throw new SnapshotRefused(`No portal database at ${file}: --from is the old DATA_DIR (the directory holding portal.db)`);
  let db: SQLite.Database | undefined;
  try {
    db = openSqliteReadOnly(file);
    const tables = new Set((db.prepare(`select name from sqlite_schema where type = 'table'`).pluck().all() as string[]));
    if (!tables.has('kysely_migration') || !tables.has('users') || !tables.has('apps')) throw new SnapshotRefused(`${file} is not a Mosis Portal database (no kysely_migration, users and apps tables)`);
  } catch (err) {
    if (err instanceof SnapshotRefused) throw err;
    throw new SnapshotRefused(`${file} is not a SQLite database the portal can read: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

/**
 * A portal serving on the source would go on writing after the copy. SQLite removes the -wal file
 * when the last writer closes cleanly (a read-only connection, ours, leaves an empty one): a
 * non-empty one means a writer is open, or was killed. A job lease still running says the same.
 */
async function refuseIfRunning(portalFile: string, telemetryFile: string): Promise<void> {
  const problems: string[] = [];
  for (const file of [portalFile, telemetryFile]) {
    const wal = await stat(`${file}-wal`).catch(() => null);
    if (wal !== null && wal.size > 0) problems.push(`${path.basename(file)}-wal holds ${wal.size} bytes of transactions: a portal has it open (or was not stopped cleanly)`);
  }
  const db = openSqliteReadOnly(portalFile);
  try {
    const hasJobs = db.prepare(`select 1 from sqlite_schema where type = 'table' and name = 'jobs'`).get() !== undefined;
    if (hasJobs) {
      const leased = db.prepare(`select count(*) from jobs where state = 'running' and locked_until > ?`).pluck().get(new Date().toISOString()) as number;
      if (leased > 0) problems.push(`${leased} job(s) are running under a lease that has not run out`);
    }
  } finally {
    db.close();
  }
  if (problems.length > 0) {
    throw new SnapshotRefused('A portal seems to be running on the source: stop it first (if it is stopped, it was not stopped cleanly: start it once and stop it with SIGTERM)', problems);
  }
}

/** An in-memory telemetry database at the latest schema: the source of a portal no device has sent to. */
async function emptyTelemetry(): Promise<SQLite.Database> {
  const memory = new SQLite(':memory:');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations take Kysely<any>
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: memory }) });
  const result = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(telemetryMigrations) } }).migrateToLatest();
  if (result.error) throw result.error instanceof Error ? result.error : new Error(JSON.stringify(result.error));
  return memory;
}

function checkSourceMigrations(portal: SQLite.Database, telemetry: SQLite.Database | null): void {
  const problems = [...migrationProblems('portal.db', appliedMigrations(portal), Object.keys(migrations))];
  if (telemetry !== null) problems.push(...migrationProblems('telemetry.db', appliedMigrations(telemetry), Object.keys(telemetryMigrations)));
  if (problems.length > 0) {
    throw new SnapshotRefused(
      'The source is not at this build\'s schema version: run this build of the portal once on the old DATA_DIR (mosis-portal migrate, or serve and stop it), then import again',
      problems,
    );
  }
}

function migrationProblems(file: string, applied: readonly string[], known: readonly string[]): string[] {
  const missing = known.filter((m) => !applied.includes(m));
  const unknown = applied.filter((m) => !known.includes(m));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`${file} lacks migration(s) ${missing.join(', ')}`);
  if (unknown.length > 0) problems.push(`${file} has migration(s) this build does not know (${unknown.join(', ')}): use the build that made them`);
  return problems;
}

async function connect(url: string): Promise<pg.Client> {
  const driver = pgDriver();
  const client = new driver.Client({
    connectionString: url,
    // int8 as JS numbers, as the portal reads them.
    types: { getTypeParser: int8AsNumber(driver) },
  });
  await client.connect();
  return client;
}

/**
 * Each table both sides hold, its columns from both catalogs, checked to agree: a table or column
 * one side lacks (other than the known dialect-specific ones) stops the import before it writes.
 */
async function planTables(portal: SQLite.Database, telemetry: SQLite.Database | null, client: pg.Client): Promise<TablePlan[]> {
  const sourceTables = new Map<string, { source: 'portal' | 'telemetry'; db: SQLite.Database }>();
  for (const [name, db] of [['portal', portal], ['telemetry', telemetry]] as const) {
    if (db === null) continue;
    const rows = db.prepare(`select name, sql from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\'`).all() as { name: string; sql: string | null }[];
    const virtual = rows.filter((t) => /^create\s+virtual\s+table/i.test(t.sql ?? '')).map((t) => t.name);
    for (const { name: table } of rows) {
      // Full-text index tables (virtual, and their shadow tables) only repeat other tables' text.
      if (BOOKKEEPING.test(table) || virtual.some((v) => table === v || table.startsWith(`${v}_`)) || table in SQLITE_ONLY) continue;
      sourceTables.set(table, { source: name, db });
    }
  }
  const { rows: destTables } = await client.query<{ name: string }>(
    `select relname as name from pg_class where relnamespace = current_schema()::regnamespace and relkind in ('r', 'p') and not relispartition`,
  );
  const destination = new Set(destTables.map((r) => r.name).filter((t) => !BOOKKEEPING.test(t)));
  const problems: string[] = [];
  for (const table of sourceTables.keys()) if (!destination.has(table)) problems.push(`table ${table} is in the SQLite database but not in PostgreSQL`);
  for (const table of destination) if (!sourceTables.has(table)) problems.push(`table ${table} is in PostgreSQL but not in the SQLite database`);

  const { rows: destColumns } = await client.query<{ table_name: string; column_name: string; data_type: string; is_generated: string; is_identity: string }>(
    `select table_name, column_name, data_type, is_generated, is_identity from information_schema.columns where table_schema = current_schema() order by table_name, ordinal_position`,
  );
  const plans: TablePlan[] = [];
  for (const [table, { source, db }] of sourceTables) {
    if (!destination.has(table)) continue;
    const info = db.pragma(`table_info(${q(table)})`) as { name: string; pk: number }[];
    const dest = destColumns.filter((c) => c.table_name === table);
    // Generated columns (the tsvector of search) are PostgreSQL's own and computed from the others.
    const writable = dest.filter((c) => c.is_generated !== 'ALWAYS');
    for (const c of info) if (!writable.some((d) => d.column_name === c.name)) problems.push(`column ${table}.${c.name} is in the SQLite database but not in PostgreSQL`);
    for (const d of writable) if (!info.some((c) => c.name === d.column_name)) problems.push(`column ${table}.${d.column_name} is in PostgreSQL but not in the SQLite database`);
    const columns = info.filter((c) => writable.some((d) => d.column_name === c.name)).map((c) => ({ name: c.name, pgType: writable.find((d) => d.column_name === c.name)!.data_type }));
    const key = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    plans.push({ table, source, columns, key: key.length > 0 ? key : columns.map((c) => c.name), identity: dest.some((c) => c.is_identity === 'YES') });
  }
  if (problems.length > 0) throw new Error(`The SQLite and PostgreSQL schemas do not agree (a bug of this build, not of your data):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return orderByForeignKeys(plans, await foreignKeys(client));
}

async function foreignKeys(client: pg.Client): Promise<{ child: string; parent: string }[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `select c.relname as child, p.relname as parent from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid where k.contype = 'f' and k.connamespace = current_schema()::regnamespace and k.conrelid <> k.confrelid`,
  );
  return rows;
}

/** Parents before children: each table once every table it references is placed. */
function orderByForeignKeys(plans: TablePlan[], references: { child: string; parent: string }[]): TablePlan[] {
  const ordered: TablePlan[] = [];
  let left = [...plans].sort((a, b) => (a.table < b.table ? -1 : 1));
  while (left.length > 0) {
    const ready = left.filter((p) => !references.some((r) => r.child === p.table && left.some((l) => l.table === r.parent)));
    if (ready.length === 0) throw new Error(`foreign keys in a cycle among ${left.map((p) => p.table).join(', ')}`);
    ordered.push(...ready);
    left = left.filter((p) => !ready.includes(p));
  }
  return ordered;
}

async function usedTables(client: pg.Client): Promise<{ table: string; rows: number }[]> {
  const used: { table: string; rows: number }[] = [];
  for (const table of IN_USE_TABLES) {
    // A database not migrated yet may lack the table: then it holds no rows of it.
    const { rows: found } = await client.query<{ present: boolean }>('select to_regclass($1) is not null as present', [table]);
    if (found[0]?.present !== true) continue;
    const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${q(table)}`);
    if ((rows[0]?.n ?? 0) > 0) used.push({ table, rows: rows[0]!.n });
  }
  return used;
}

/** Key files to copy, and those the new DATA_DIR has already with the same bytes; a different one is refused. */
async function plannedKeyFiles(fromDir: string, toDir: string): Promise<{ copy: string[]; identical: string[] }> {
  const copy: string[] = [];
  const identical: string[] = [];
  const conflicts: string[] = [];
  for (const relative of await keyFiles(fromDir)) {
    const existing = await readFile(path.join(toDir, relative)).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    if (existing === null) copy.push(relative);
    else if (existing.equals(await readFile(path.join(fromDir, relative)))) identical.push(relative);
    else conflicts.push(`${path.join(toDir, relative)} differs from ${path.join(fromDir, relative)}`);
  }
  if (conflicts.length > 0) {
    throw new SnapshotRefused(
      'The new DATA_DIR has key files of its own (a portal started there before the import made them?): remove them so the old ones can be copied (nothing was changed)',
      conflicts,
    );
  }
  return { copy, identical };
}

/**
 * The blobs rows need, with the size their rows give: packages of versions (a failed upload's may
 * be collected, as gc does) and app images. Read on the SQLite source.
 */
function referencedBlobs(portal: SQLite.Database): Map<string, number> {
  const named = portal.prepare(`select sha256, size from versions where status <> 'failed' union select sha256, size from app_images`).all() as { sha256: string; size: number }[];
  return new Map(named.map((n) => [n.sha256, n.size]));
}

/**
 * Every blob of the old PACKAGES_DIR into the destination store, its SHA-256 checked as it is
 * staged. A blob a row needs that the source lacks, or a damaged one, stops the import here,
 * before any table is written.
 */
async function copyBlobs(portal: SQLite.Database, from: BlobStore, to: BlobStore, report: ImportReport, progress: (line: string) => void): Promise<void> {
  const stored: string[] = [];
  for await (const sha256 of from.list()) stored.push(sha256);
  const have = new Set(stored);
  const lost = [...referencedBlobs(portal).keys()].filter((sha256) => !have.has(sha256)).sort();
  if (lost.length > 0) {
    throw new SnapshotRefused(
      'Blobs the source database refers to are not in the source packages directory (is --from-packages right?): no table was written',
      lost.map((sha256) => `blob ${sha256} is missing`),
    );
  }
  report.blobs.stored_in_source = stored.length;
  progress(`Copying ${stored.length} blob(s)…`);
  const problems: string[] = [];
  let done = 0;
  await eachConcurrently(stored, BLOB_CONCURRENCY, async (sha256) => {
    const size = await from.size(sha256);
    if (size === null) return;
    if ((await to.size(sha256)) === size) {
      report.blobs.already_there += 1;
    } else {
      const staged = await to.stage(from.read(sha256), { maxBytes: size + 1 });
      if (staged.sha256 !== sha256) {
        await staged.discard();
        problems.push(`blob ${sha256} in the source has the SHA-256 ${staged.sha256}: it is damaged (restore it from a backup, or run mosis-portal gc if nothing refers to it)`);
        return;
      }
      await staged.commit();
      report.blobs.copied += 1;
    }
    done += 1;
    if (done % 500 === 0) progress(`  ${done}/${stored.length} blobs`);
  });
  if (problems.length > 0) throw new SnapshotRefused('Damaged blobs in the source: no table was written', problems);
}

/** Source rows as PostgreSQL takes them: the dialects store the portal's values alike (text, 0/1, numbers) but for these. */
function convert(value: unknown, pgType: string): unknown {
  if (value === null || value === undefined) return null;
  if (pgType === 'boolean') return value !== 0 && value !== '0' && value !== false;
  if (pgType === 'bytea') return Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  if ((pgType === 'json' || pgType === 'jsonb') && typeof value !== 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** One value in the form both sides hash: what node-postgres hands back for the destination's type. */
function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return { bytes: value.toString('hex') };
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  return value;
}

function insertSql(plan: TablePlan, rows: number): string {
  const columns = plan.columns.map((c) => q(c.name)).join(', ');
  const width = plan.columns.length;
  const tuples = Array.from({ length: rows }, (_, r) => `(${plan.columns.map((_c, i) => `$${r * width + i + 1}`).join(', ')})`);
  return `insert into ${q(plan.table)} (${columns})${plan.identity ? ' overriding system value' : ''} values ${tuples.join(', ')}`;
}

function sourceQuery(plan: TablePlan): string {
  return `select ${plan.columns.map((c) => q(c.name)).join(', ')} from ${q(plan.table)} order by ${plan.key.map(q).join(', ')}`;
}

/**
 * Every table in one transaction: the destination ends with all of the source's rows or none.
 * Each SQLite file is read in one read transaction, so what is copied is one moment of it.
 */
async function copyTables(plans: TablePlan[], sources: { portal: SQLite.Database; telemetry: SQLite.Database | null }, client: pg.Client, batch: number, progress: (line: string) => void): Promise<void> {
  const reading = [sources.portal, sources.telemetry].filter((d): d is SQLite.Database => d !== null);
  for (const db of reading) db.exec('begin');
  await client.query('begin');
  try {
    // Rows a fresh portal makes for itself (recurring jobs, the notifications cursor) give way to the source's.
    await client.query(`truncate ${plans.map((p) => q(p.table)).join(', ')}`);
    for (const plan of plans) {
      const db = plan.source === 'portal' ? sources.portal : sources.telemetry!;
      if (plan.table === 'telemetry_events') await createPartitions(db, client);
      const perInsert = Math.max(1, Math.min(batch, Math.floor(MAX_PARAMETERS / plan.columns.length)));
      let pending: unknown[][] = [];
      let copied = 0;
      const flush = async (): Promise<void> => {
        if (pending.length === 0) return;
        await client.query(insertSql(plan, pending.length), pending.flat());
        copied += pending.length;
        pending = [];
      };
      for (const row of db.prepare(sourceQuery(plan)).raw(true).iterate() as IterableIterator<unknown[]>) {
        pending.push(row.map((v, i) => convert(v, plan.columns[i]!.pgType)));
        if (pending.length >= perInsert) await flush();
      }
      await flush();
      await resetSequences(plan, client);
      progress(`  ${plan.table}: ${copied} row(s)`);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    for (const db of reading) if (db.inTransaction) db.exec('commit');
  }
}

/** telemetry_events is partitioned by day on PostgreSQL: one partition per day the source has, named as the writer names them. */
async function createPartitions(db: SQLite.Database, client: pg.Client): Promise<void> {
  const days = db.prepare('select distinct received_day from telemetry_events order by 1').pluck().all() as string[];
  for (const day of days) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`telemetry_events has a received_day that is not a date: ${day}`);
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    await client.query(`create table if not exists ${q(`telemetry_events_${day.replaceAll('-', '')}`)} partition of telemetry_events for values from ('${day}') to ('${next}')`);
  }
}

/** Identity columns and serials continue after the highest copied id, as they did on SQLite. */
async function resetSequences(plan: TablePlan, client: pg.Client): Promise<void> {
  for (const column of plan.columns) {
    const { rows } = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [q(plan.table), column.name]);
    const seq = rows[0]?.seq;
    if (!seq) continue;
    await client.query(`select setval($1, coalesce(max(${q(column.name)}), 1), max(${q(column.name)}) is not null) from ${q(plan.table)}`, [seq]);
  }
}

/** Row counts and a SHA-256 over every row in primary-key order, in one canonical form, on both sides. */
async function verifyTables(plans: TablePlan[], sources: { portal: SQLite.Database; telemetry: SQLite.Database | null }, client: pg.Client, batch: number, progress: (line: string) => void): Promise<TableReport[]> {
  const reports: TableReport[] = [];
  await client.query('begin isolation level repeatable read read only');
  try {
    for (const plan of plans) {
      const db = plan.source === 'portal' ? sources.portal : sources.telemetry!;
      const sourceHash = createHash('sha256');
      let sourceRows = 0;
      db.exec('begin');
      try {
        for (const row of db.prepare(sourceQuery(plan)).raw(true).iterate() as IterableIterator<unknown[]>) {
          sourceHash.update(`${JSON.stringify(row.map((v, i) => canonical(convert(v, plan.columns[i]!.pgType))))}\n`);
          sourceRows += 1;
        }
      } finally {
        db.exec('commit');
      }
      const destHash = createHash('sha256');
      let destRows = 0;
      // Text in byte order (collation "C"), as SQLite's BINARY collation orders it.
      const order = plan.key.map((k) => (plan.columns.find((c) => c.name === k)?.pgType === 'text' ? `${q(k)} collate "C"` : q(k))).join(', ');
      await client.query(`declare import_rows no scroll cursor for select ${plan.columns.map((c) => q(c.name)).join(', ')} from ${q(plan.table)} order by ${order}`);
      for (;;) {
        const { rows } = await client.query<unknown[]>({ text: `fetch ${batch} from import_rows`, rowMode: 'array' });
        for (const row of rows) destHash.update(`${JSON.stringify(row.map(canonical))}\n`);
        destRows += rows.length;
        if (rows.length < batch) break;
      }
      await client.query('close import_rows');
      const report = { table: plan.table, source_rows: sourceRows, destination_rows: destRows, source_sha256: sourceHash.digest('hex'), destination_sha256: destHash.digest('hex'), match: false };
      report.match = report.source_rows === report.destination_rows && report.source_sha256 === report.destination_sha256;
      if (!report.match) progress(`  ${plan.table}: DIFFERS (source ${sourceRows} row(s), destination ${destRows})`);
      reports.push(report);
    }
  } finally {
    await client.query('commit');
  }
  return reports;
}

/**
 * Every blob a version or an image names is in the destination with its size, and reads back with
 * its hash. The source must have them all too: one it lacks was lost before the move.
 */
async function verifyBlobs(portal: SQLite.Database, from: BlobStore, to: BlobStore, report: ImportReport, progress: (line: string) => void): Promise<void> {
  const problems: string[] = [];
  const bySha = referencedBlobs(portal);
  report.blobs.referenced = bySha.size;
  progress(`Verifying ${bySha.size} referenced blob(s)…`);
  await eachConcurrently([...bySha], BLOB_CONCURRENCY, async ([sha256, size]) => {
    if (!SHA256.test(sha256)) return void problems.push(`a row names ${JSON.stringify(sha256)}, which is not a SHA-256`);
    const stored = await to.size(sha256);
    if (stored === null) {
      const inSource = await from.has(sha256);
      return void problems.push(`blob ${sha256} is missing in the destination${inSource ? '' : ' (and in the source: it was lost before the move)'}`);
    }
    if (stored !== size) return void problems.push(`blob ${sha256} has ${stored} bytes in the destination, its row says ${size}`);
    const hash = createHash('sha256');
    for await (const chunk of to.read(sha256)) hash.update(chunk as Buffer);
    const digest = hash.digest('hex');
    if (digest !== sha256) return void problems.push(`blob ${sha256} reads back from the destination with the SHA-256 ${digest}`);
    report.blobs.verified += 1;
  });
  report.blobs.problems.push(...problems.sort());
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
