import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync } from 'node:fs';
import SQLite from 'better-sqlite3';

/**
 * The SQLite side of snapshots, synchronous: run on a thread of its own when the portal is serving
 * (sqlite-thread.ts), directly by the commands.
 */

export interface CopiedDatabase {
  sha256: string;
  size: number;
  migrations: string[];
  /** Every distinct 64-hex text value in the copy's tables: the hashes its rows name (see blobsNamedBy). */
  named: string[];
}

/**
 * Copies a live database into `target` (which must not exist) as one consistent snapshot: VACUUM
 * INTO reads the source in a single read transaction, so it sees every transaction committed before
 * it began and none after, while the portal goes on writing beside it (WAL: readers never block the
 * writer). The copy is compact, in rollback-journal mode (a single file), 0600 and fsynced.
 */
export function copyDatabase(source: string, target: string, options: { named: boolean }): CopiedDatabase {
  // Made first with the mode it keeps: SQLite would create it with the process umask's.
  closeSync(openSync(target, 'wx', 0o600));
  const live = new SQLite(source, { readonly: true, fileMustExist: true });
  try {
    live.pragma('busy_timeout = 5000');
    live.prepare('VACUUM INTO ?').run(target);
  } finally {
    live.close();
  }
  // SQLite does not fsync what VACUUM INTO writes.
  const fd = openSync(target, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const copy = new SQLite(target, { readonly: true, fileMustExist: true });
  try {
    return { ...digestFileSync(target), migrations: appliedMigrations(copy), named: options.named ? blobsNamedBy(copy) : [] };
  } finally {
    copy.close();
  }
}

/** What `PRAGMA integrity_check` says about a database file: `['ok']` when whole. Opens it read-only. */
export function integrityCheck(file: string): string[] {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((row) => row.integrity_check);
  } finally {
    db.close();
  }
}

export function appliedMigrations(db: SQLite.Database): string[] {
  const table = db.prepare(`select 1 from sqlite_schema where type = 'table' and name = 'kysely_migration'`).get();
  if (table === undefined) return [];
  return (db.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((row) => row.name);
}

/**
 * Blob hashes the rows name, found without knowing which feature keeps which column: every distinct
 * text value of exactly 64 lowercase hex characters in any column of any ordinary table. Token
 * hashes and the like come along; the caller keeps only those that are stored blobs. Full-text
 * index tables (virtual, and their shadow tables) are skipped: they only repeat other tables' text.
 */
export function blobsNamedBy(db: SQLite.Database): string[] {
  const tables = db.prepare(`select name, sql from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\'`).all() as { name: string; sql: string | null }[];
  const virtual = tables.filter((t) => /^create\s+virtual\s+table/i.test(t.sql ?? '')).map((t) => t.name);
  const named = new Set<string>();
  for (const { name } of tables) {
    if (virtual.some((v) => name === v || name.startsWith(`${v}_`))) continue;
    const columns = db.pragma(`table_info(${quote(name)})`) as { name: string; type: string }[];
    for (const column of columns) {
      if (!/text|char|clob/i.test(column.type)) continue;
      const values: unknown[] = db.prepare(`select distinct ${quote(column.name)} as v from ${quote(name)} where length(${quote(column.name)}) = 64`).pluck().all();
      for (const v of values) if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) named.add(v);
    }
  }
  return [...named];
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

export function digestFileSync(file: string): { sha256: string; size: number } {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const fd = openSync(file, 'r');
  let size = 0;
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      hash.update(buffer.subarray(0, n));
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), size };
}
