import type { Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * OAuth sign-ins are bound to the browser that started them (issue 9): the SHA-256 of a random
 * value the start route puts in a short-lived cookie. Rows written before this migration have
 * none, so their callbacks are refused and the user starts again (states live ten minutes).
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('oauth_states').addColumn('browser_hash', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('oauth_states').dropColumn('browser_hash').execute();
}
