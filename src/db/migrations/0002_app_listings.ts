import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('app_listings')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_listings_pk', ['app_id', 'locale'])
    .execute();

  await db.schema
    .createTable('app_images')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('app_images_app').on('app_images').columns(['app_id', 'kind', 'id']).execute();
  // An app has at most one icon; replacing it swaps the row inside one transaction.
  await db.schema.createIndex('app_images_icon').on('app_images').column('app_id').unique().where(sql.ref('kind'), '=', 'icon').execute();
  // The public media route and the blob garbage collector look images up by content address.
  await db.schema.createIndex('app_images_sha256').on('app_images').column('sha256').execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['app_images', 'app_listings']) {
    await db.schema.dropTable(table).execute();
  }
}
