import type { Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * The OAuth 2.0 Device Authorization Grant (RFC 8628, issue 17): one row per `mosis login` from
 * the code's request until its API key is handed over, denied or the code expires. The pacing of
 * the CLI's polls (next_poll_at, interval_s) is in the row, not in memory, so every portal
 * instance answers slow_down alike.
 *
 * And the key an API key was made with (`parent_key_id`): revoking a key revokes the keys it made,
 * so `mosis logout` (or revoking a leaked CLI key) leaves no child of it working. Keys made before
 * this migration have none.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('device_authorizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // SHA-256 of the device code the client polls with; the code itself is never stored.
    .addColumn('device_code_hash', 'text', (c) => c.notNull().unique())
    // The code a person types, without its dash: 8 letters of an unambiguous alphabet.
    .addColumn('user_code', 'text', (c) => c.notNull().unique())
    .addColumn('client_name', 'text', (c) => c.notNull())
    // JSON array of the API key scopes the client asks for.
    .addColumn('scopes', 'text', (c) => c.notNull())
    // pending | approved | denied | consumed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('api_key_id', 'text')
    .addColumn('interval_s', 'integer', (c) => c.notNull())
    .addColumn('next_poll_at', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'text')
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('device_authorizations_expires').on('device_authorizations').columns(['expires_at']).execute();

  await db.schema.alterTable('api_keys').addColumn('parent_key_id', 'text').execute();
  await db.schema.createIndex('api_keys_parent').on('api_keys').columns(['parent_key_id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('api_keys_parent').execute();
  await db.schema.alterTable('api_keys').dropColumn('parent_key_id').execute();
  await db.schema.dropTable('device_authorizations').execute();
}
