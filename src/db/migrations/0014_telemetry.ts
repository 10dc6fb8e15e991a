import { PostgresAdapter, type Kysely } from 'kysely';
import * as telemetry from '../telemetry-migrations/0001_telemetry.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Telemetry's tables on PostgreSQL, where they share the portal's database. On SQLite telemetry
 * has a file of its own (migrated by its writer), so the portal's file gets nothing here.
 */
export async function up(db: AnyDb): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await telemetry.up(db);
}

export async function down(db: AnyDb): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await telemetry.down(db);
}
