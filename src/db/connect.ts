import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { DatabaseConfig } from '../config/index.js';
import type { Database, Db, Dialect } from './database.js';

export interface PortalDatabase {
  readonly db: Db;
  readonly dialect: Dialect;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const PG_INT8 = 20;

/**
 * The PostgreSQL driver, loaded when a PostgreSQL database is first opened: a portal on SQLite (a
 * NAS) never carries its 10+ MiB. A CommonJS package, so `require` loads it synchronously.
 */
export function pgDriver(): typeof pg {
  return createRequire(import.meta.url)('pg') as typeof pg;
}

/** int8 as JS numbers: every value the portal stores is far below 2^53. */
export const int8AsNumber = (driver: typeof pg) =>
  ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === PG_INT8 ? (v: string) => Number(v) : (driver.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser;

export function openDatabase(config: DatabaseConfig): PortalDatabase {
  const db = config.dialect === 'sqlite' ? new Kysely<Database>({ dialect: sqliteDialect(config.file) }) : openPostgres(config.url);
  return {
    db,
    dialect: config.dialect,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * A read-only connection to one of the portal's SQLite files, for work done off the main thread
 * (the store's search) or reads beside a writer of their own (telemetry's): WAL lets it read beside
 * the writer, and it can never write.
 */
export function openSqliteReader<Tables = Database>(file: string): Kysely<Tables> {
  return new Kysely<Tables>({ dialect: new SqliteDialect({ database: reusingStatements(openSqliteReadOnly(file)) }) });
}

/** The driver of such a read-only connection, for a reader that also runs statements of its own (telemetry's rollup). */
export function openSqliteReadOnly(file: string): SQLite.Database {
  const sqlite = new SQLite(file, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  return sqlite;
}

/** A SQLite file of the portal's (the portal's own, telemetry's), made 0600 and opened as both need. */
export function openSqliteFile(file: string): SQLite.Database {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const created = !existsSync(file);
  const sqlite = new SQLite(file);
  // Password hashes and sessions: readable by the portal's user alone, whatever the umask. SQLite
  // gives the -wal and -shm files the database file's mode, so this comes before WAL is on.
  if (created) chmodSync(file, 0o600);
  // WAL lets readers run beside the single writer; FULL sync because a NAS can lose power mid-write.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return sqlite;
}

function sqliteDialect(file: string): SqliteDialect {
  const sqlite = openSqliteFile(file);
  // Without statistics SQLite's planner takes any equality index, and `status = 'published'` walks
  // every published version of a large catalog (seconds, on the event loop). optimize gathers them
  // for tables that lack them or have grown, as SQLite advises for long-lived connections; the
  // daily store job runs it again.
  sqlite.pragma('optimize = 0x10002');
  return new SqliteDialect({ database: reusingStatements(sqlite) });
}

/** Statements kept prepared, by SQL text: most of the portal's queries repeat. */
const PREPARED_STATEMENTS = 256;

/**
 * The connection Kysely sees, preparing each distinct SQL text once: Kysely prepares every query
 * anew, about 20 µs each on a store answer's cache miss. Safe because the portal only runs
 * statements to completion (all/run), never leaves one iterating.
 */
function reusingStatements(sqlite: SQLite.Database): SqliteDatabase {
  const prepared = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let statement = prepared.get(text);
      if (statement === undefined) {
        statement = sqlite.prepare(text);
        if (prepared.size >= PREPARED_STATEMENTS) prepared.delete(prepared.keys().next().value as string);
        prepared.set(text, statement);
      }
      return statement;
    },
  };
}

/** A pool on PostgreSQL: the portal's own, or telemetry's smaller ones beside it. */
export function openPostgres<Tables = Database>(url: string, max = 10): Kysely<Tables> {
  const driver = pgDriver();
  const pool = new driver.Pool({
    connectionString: url,
    max,
    // int8 (sizes, counts) as JS numbers: every value the portal stores is far below 2^53.
    types: { getTypeParser: int8AsNumber(driver) },
  });
  return new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
}
