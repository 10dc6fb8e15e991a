import type { Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Where each session is used from (issue 16, the sessions list in the web UI's security settings):
 * the client's IP address and User-Agent, on web sessions (from the sign-in) and on refresh tokens
 * (each rotation writes the refreshing client's, so a family shows where it was last used). Rows
 * written before this migration have neither: the list shows "unknown device".
 */
export async function up(db: AnyDb): Promise<void> {
  for (const table of ['web_sessions', 'refresh_tokens']) {
    await db.schema.alterTable(table).addColumn('ip', 'text').execute();
    await db.schema.alterTable(table).addColumn('user_agent', 'text').execute();
  }
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['web_sessions', 'refresh_tokens']) {
    for (const column of ['user_agent', 'ip']) await db.schema.alterTable(table).dropColumn(column).execute();
  }
}
