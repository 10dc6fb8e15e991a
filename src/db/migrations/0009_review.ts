import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const VERSION_COLUMNS: [name: string, type: 'text'][] = [
  // The archive's entries with their sizes (JSON), kept from the checks so review never re-reads the package.
  ['files', 'text'],
  // When the checks finished: how long a version has waited for review.
  ['checked_at', 'text'],
  // A reviewer's claim on a waiting version, until it expires or a decision releases it.
  ['claimed_by', 'text'],
  ['claim_expires_at', 'text'],
  // The review decision (approve | reject), its notes, who and when.
  ['review_decision', 'text'],
  ['review_notes', 'text'],
  ['reviewer_id', 'text'],
  ['decided_at', 'text'],
  // The store signature (PACKAGE.md) made at approval, and the id of the store key that made it.
  ['store_signature', 'text'],
  ['store_key_id', 'text'],
];

/** The review queue (issue 11): claims, decisions and store signatures on the version row. */
export async function up(db: AnyDb): Promise<void> {
  for (const [name, type] of VERSION_COLUMNS) await db.schema.alterTable('versions').addColumn(name, type).execute();
  // Versions waiting from before: they entered the queue when they were uploaded.
  await db.updateTable('versions').set({ checked_at: sql.ref('created_at') }).where('status', '<>', 'processing').execute();
  await db.schema.createIndex('versions_review_queue').on('versions').columns(['status', 'checked_at', 'id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('versions_review_queue').execute();
  for (const [name] of VERSION_COLUMNS.reverse()) await db.schema.alterTable('versions').dropColumn(name).execute();
}
