import type { Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * How a session signed in (issue 9): the authentication methods (`amr`, a JSON array such as
 * ["pwd","otp"]) and when, on refresh-token families and web sessions, so privileged routes can
 * ask for a session that used the second factor rather than an account that has one. Web sessions
 * also record when they were last used, for the idle timeout.
 *
 * Rows written before this migration have no methods: they count as signed in without a second
 * factor (so a reviewer or admin signs in again with their code), and with no sign-in time (so
 * they are never "recent"). A web session without last_seen_at is idle since its creation.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('refresh_tokens').addColumn('amr', 'text').execute();
  await db.schema.alterTable('refresh_tokens').addColumn('authenticated_at', 'text').execute();
  await db.schema.alterTable('web_sessions').addColumn('amr', 'text').execute();
  await db.schema.alterTable('web_sessions').addColumn('authenticated_at', 'text').execute();
  await db.schema.alterTable('web_sessions').addColumn('last_seen_at', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const column of ['last_seen_at', 'authenticated_at', 'amr']) await db.schema.alterTable('web_sessions').dropColumn(column).execute();
  for (const column of ['authenticated_at', 'amr']) await db.schema.alterTable('refresh_tokens').dropColumn(column).execute();
}
