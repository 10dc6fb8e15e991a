import type { Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Fixed-window rate-limit counters every portal instance on one PostgreSQL database shares (issue
 * 18): the sign-in, OAuth and device-grant budgets (http/rate-limit-pg.ts). SQLite serves one
 * process and counts in memory; the table is made there too, so both dialects have one schema.
 *
 * `key` is the SHA-256 (base64url) of the budget's key (`login:ip:203.0.113.7`, an email, …): a
 * fixed length whatever a caller sends, and no email address kept in the table. `window_end` is
 * epoch milliseconds, not ISO text: each attempt compares and adds to it in SQL. Rows whose window
 * has ended are dead (the next attempt starts a new window in place) and are swept in batches.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_limits_window_end').on('rate_limits').columns(['window_end']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
