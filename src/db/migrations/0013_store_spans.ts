import type { Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * When each app was first and last published, read from an index alone: a cold store orders its
 * catalog (new, updated) from these before it has read every version (500 000 at the seed's size),
 * so catalog pages are served seconds earlier.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createIndex('versions_published')
    .on('versions')
    .columns(['app_id', 'published_at'])
    .where((eb) => eb('published_at', 'is not', null))
    .execute();
}
