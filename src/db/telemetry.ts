import path from 'node:path';
import type SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { DatabaseConfig } from '../config/index.js';
import type { Database, TelemetryDatabase } from './database.js';
import { openPostgres, openSqliteFile, openSqliteReadOnly, openSqliteReader } from './connect.js';
import { telemetryMigrations } from './telemetry-migrations/index.js';

export type { TelemetryDatabase };

export type TelemetryDb = Kysely<TelemetryDatabase>;

/** The telemetry file of a SQLite portal: beside the portal's own file. */
export function telemetryFile(database: Extract<DatabaseConfig, { dialect: 'sqlite' }>): string {
  return path.join(path.dirname(database.file), 'telemetry.db');
}

/**
 * The writer's connection. On SQLite it also hands out the driver itself: the writer inserts
 * events and marks what the rollup has counted with prepared statements run in a loop, about a
 * microsecond a row, where a query builder compiling multi-row statements cost tens.
 */
export interface TelemetryConnection {
  db: TelemetryDb;
  sqlite: SQLite.Database | null;
}

/**
 * The telemetry database for its writer: on SQLite the telemetry file (created 0600, WAL, FULL
 * sync: a 202 means the events are on disk), on PostgreSQL a small pool of its own.
 */
export function openTelemetryWriter(database: DatabaseConfig): TelemetryConnection {
  if (database.dialect === 'postgres') return { db: openPostgres<TelemetryDatabase>(database.url, 4), sqlite: null };
  const sqlite = openSqliteFile(telemetryFile(database));
  // The rollup's distinct-count table is written in key order per bucket but spread over many
  // pages: a larger cache than SQLite's 2 MiB keeps them in memory between commits.
  sqlite.pragma('cache_size = -16384');
  return { db: new Kysely<TelemetryDatabase>({ dialect: new SqliteDialect({ database: sqlite }) }), sqlite };
}

/**
 * The rollup thread's connection: read-only like the main thread's, and on SQLite with the driver
 * itself, whose raw rows the rollup scans events with.
 */
export function openTelemetryScanner(database: DatabaseConfig): TelemetryConnection {
  if (database.dialect === 'postgres') return { db: openPostgres<TelemetryDatabase>(database.url, 1), sqlite: null };
  const sqlite = openSqliteReadOnly(telemetryFile(database));
  return { db: new Kysely<TelemetryDatabase>({ dialect: new SqliteDialect({ database: sqlite }) }), sqlite };
}

/**
 * The telemetry database for reads on the main thread (analytics, crash groups): read-only on
 * SQLite, so a developer's query never takes the writer's lock.
 */
export function openTelemetryReader(database: DatabaseConfig): TelemetryDb {
  if (database.dialect === 'postgres') return openPostgres<TelemetryDatabase>(database.url, 2);
  return openSqliteReader<TelemetryDatabase>(telemetryFile(database));
}

/**
 * The portal's own database, read by the telemetry thread to tell which apps and versions devices
 * name: read-only on SQLite (beside the portal's writer), one connection on PostgreSQL.
 */
export function openCatalogReader(database: DatabaseConfig): Kysely<Database> {
  if (database.dialect === 'postgres') return openPostgres<Database>(database.url, 1);
  return openSqliteReader<Database>(database.file);
}

/** Brings the telemetry file up to date (SQLite; on PostgreSQL the portal's migrations did). */
export async function migrateTelemetry(db: TelemetryDb): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(telemetryMigrations) } });
  const result = await migrator.migrateToLatest();
  if (result.error) throw new Error(`The telemetry database could not be migrated: ${result.error instanceof Error ? result.error.message : JSON.stringify(result.error)}`, { cause: result.error });
}
