import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * The store (issue 12): full-text search over listings, and download counts.
 *
 * Search is kept in sync by the database itself, so it changes in the same transaction as the
 * listing whatever code path writes it. One document per app (its default listing, package id and
 * category) and one per translation (its name, summary and description).
 * - SQLite: an FTS5 table (unicode61 without diacritics, prefix indexes for "calc" → "Calculator")
 *   filled by triggers; store_search_docs gives each document a stable integer rowid.
 * - PostgreSQL: generated tsvector columns with the `simple` configuration (no stemming: listings
 *   come in every language) and GIN indexes.
 *
 * Downloads: store_download_marks remembers which device fetched which version on which UTC day
 * (a keyed hash, never the device id), so a device counts once a day; store_downloads keeps the
 * daily counts per app and version that "popular" and the developer's stats read.
 */
export async function up(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  if (postgres) await postgresSearch(db);
  else await sqliteSearch(db);

  await db.schema
    .createTable('store_download_marks')
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('device_hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('store_download_marks_pk', ['day', 'version_id', 'device_hash'])
    .execute();
  await db.schema
    .createTable('store_downloads')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('version_code', 'integer', (c) => c.notNull())
    .addColumn('downloads', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('store_downloads_pk', ['app_id', 'day', 'version_code'])
    .execute();
  // "popular" sums the last 30 days of every app.
  await db.schema.createIndex('store_downloads_day').on('store_downloads').columns(['day']).execute();
  // The crash guard's staged rollouts, every five minutes: without it the query walks every
  // published version (12 s at the seed's 500 000 on SQLite).
  await db.schema
    .createIndex('versions_staged')
    .on('versions')
    .column('rollout_percent')
    .where(sql<boolean>`status = 'published' and superseded_at is null and rollout_percent < 100`)
    .execute();
}

const SQLITE_DOCUMENT = (app: string) => `(select doc_id from store_search_docs where app_id = ${app} and locale = '')`;
const SQLITE_TRANSLATION = (app: string, locale: string) => `(select doc_id from store_search_docs where app_id = ${app} and locale = ${locale})`;

async function sqliteSearch(db: AnyDb): Promise<void> {
  await sql`create table store_search_docs (doc_id integer primary key autoincrement, app_id text not null, locale text not null, unique (app_id, locale))`.execute(db);
  await sql`create virtual table store_search using fts5(package_id, name, summary, description, category, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')`.execute(db);
  const statements = [
    `create trigger store_search_app_insert after insert on apps begin
       insert into store_search_docs (app_id, locale) values (new.id, '');
       insert into store_search (rowid, package_id, name, summary, description, category)
         values (${SQLITE_DOCUMENT('new.id')}, new.package_id, new.name, new.summary, new.description, coalesce(new.category, ''));
     end`,
    `create trigger store_search_app_update after update of package_id, name, summary, description, category on apps begin
       update store_search set package_id = new.package_id, name = new.name, summary = new.summary, description = new.description, category = coalesce(new.category, '')
         where rowid = ${SQLITE_DOCUMENT('new.id')};
     end`,
    `create trigger store_search_app_delete after delete on apps begin
       delete from store_search where rowid in (select doc_id from store_search_docs where app_id = old.id);
       delete from store_search_docs where app_id = old.id;
     end`,
    `create trigger store_search_listing_insert after insert on app_listings begin
       insert into store_search_docs (app_id, locale) values (new.app_id, new.locale);
       insert into store_search (rowid, package_id, name, summary, description, category)
         values (${SQLITE_TRANSLATION('new.app_id', 'new.locale')}, '', new.name, new.summary, new.description, '');
     end`,
    `create trigger store_search_listing_update after update of name, summary, description on app_listings begin
       update store_search set name = new.name, summary = new.summary, description = new.description
         where rowid = ${SQLITE_TRANSLATION('new.app_id', 'new.locale')};
     end`,
    `create trigger store_search_listing_delete after delete on app_listings begin
       delete from store_search where rowid = ${SQLITE_TRANSLATION('old.app_id', 'old.locale')};
       delete from store_search_docs where app_id = old.app_id and locale = old.locale;
     end`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
  // What exists already is indexed once.
  await sql`insert into store_search_docs (app_id, locale) select id, '' from apps`.execute(db);
  await sql`insert into store_search_docs (app_id, locale) select app_id, locale from app_listings`.execute(db);
  await sql`insert into store_search (rowid, package_id, name, summary, description, category)
    select d.doc_id, a.package_id, a.name, a.summary, a.description, coalesce(a.category, '') from apps a join store_search_docs d on d.app_id = a.id and d.locale = ''`.execute(db);
  await sql`insert into store_search (rowid, package_id, name, summary, description, category)
    select d.doc_id, '', l.name, l.summary, l.description, '' from app_listings l join store_search_docs d on d.app_id = l.app_id and d.locale = l.locale`.execute(db);
}

async function postgresSearch(db: AnyDb): Promise<void> {
  // Weights: A name, B package id and summary, C category, D description. A package id is split at
  // its dots so each part is a word ("notes" finds com.example.notes).
  await sql`alter table apps add column search_document tsvector generated always as (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', replace(package_id, '.', ' ') || ' ' || summary), 'B') ||
    setweight(to_tsvector('simple', coalesce(category, '')), 'C') ||
    setweight(to_tsvector('simple', description), 'D')) stored`.execute(db);
  await sql`alter table app_listings add column search_document tsvector generated always as (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', summary), 'B') ||
    setweight(to_tsvector('simple', description), 'D')) stored`.execute(db);
  await sql`create index apps_search on apps using gin (search_document)`.execute(db);
  await sql`create index app_listings_search on app_listings using gin (search_document)`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema.dropIndex('versions_staged').execute();
  await db.schema.dropTable('store_downloads').execute();
  await db.schema.dropTable('store_download_marks').execute();
  if (postgres) {
    await sql`alter table app_listings drop column search_document`.execute(db);
    await sql`alter table apps drop column search_document`.execute(db);
    return;
  }
  for (const trigger of ['app_insert', 'app_update', 'app_delete', 'listing_insert', 'listing_update', 'listing_delete']) {
    await sql.raw(`drop trigger store_search_${trigger}`).execute(db);
  }
  await sql`drop table store_search`.execute(db);
  await sql`drop table store_search_docs`.execute(db);
}
