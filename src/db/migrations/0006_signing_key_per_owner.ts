import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * A public key was unique across the portal, so whoever registered someone else's public key
 * first kept its owner from registering it (issue 9). Registering proves nothing about holding
 * the private key, so the key is now unique per developer: squatting blocks nobody, and a package
 * is still accepted only when signed by a key of the app's own owner.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('signing_keys_fingerprint').execute();
  // Only among keys in use: a developer whose key was revoked (say by a takeover of a squatted
  // account) may register the same key again.
  await db.schema.createIndex('signing_keys_owner_fingerprint').on('signing_keys').columns(['owner_id', 'fingerprint']).unique().where(sql.ref('revoked_at'), 'is', null).execute();
}

/** Fails if two developers registered the same key meanwhile: which of them keeps it is a person's call. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('signing_keys_owner_fingerprint').execute();
  await db.schema.createIndex('signing_keys_fingerprint').on('signing_keys').column('fingerprint').unique().execute();
}
