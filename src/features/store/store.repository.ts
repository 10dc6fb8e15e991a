import { PostgresAdapter, sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/index.js';

/**
 * The store's reads. The hot paths (catalog pages, details, update checks) are answered from the
 * read model (store-model.ts); these queries build it, patch it, and fill its bounded caches.
 */

function isPostgres(db: Executor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** min_mosis_version out of the manifest JSON, without shipping whole manifests out of the database. */
function minMosisVersion(db: Executor): RawBuilder<string | null> {
  return isPostgres(db) ? sql<string | null>`(v.manifest::json ->> 'min_mosis_version')` : sql<string | null>`json_extract(v.manifest, '$.min_mosis_version')`;
}

/** The manifest's `author.name` / `author.url`: who made the app, as its package says (PACKAGE.md). */
function manifestAuthor(db: Executor, field: 'name' | 'url'): RawBuilder<string | null> {
  return isPostgres(db) ? sql<string | null>`(v.manifest::json -> 'author' ->> ${sql.lit(field)})` : sql<string | null>`json_extract(v.manifest, ${sql.lit(`$.author.${field}`)})`;
}

/** What the read model keeps of a published app. */
export interface IndexedAppRow {
  id: string;
  package_id: string;
  name: string;
  category: string | null;
}

/** What the read model keeps of a published or yanked version (yanked ones only date the app). */
export interface IndexedVersionRow {
  app_id: string;
  version_code: number;
  status: string;
  channel: string | null;
  rollout_percent: number | null;
  halted_at: string | null;
  published_at: string | null;
  min_mosis_version: string | null;
}

export interface IndexedApps {
  apps: IndexedAppRow[];
  versions: IndexedVersionRow[];
  locales: { app_id: string; locale: string }[];
  /** Downloads since the day asked for, by app id (apps without any are absent). */
  downloads: Map<string, number>;
}

/**
 * A full build reads whole tables in primary key order, a chunk at a time: sequential reads, where
 * looking versions up app by app would touch every page of the table in random order (measured:
 * 9 s against 2 s for 500 000 versions on SQLite).
 */
export function publishedAppsAfter(db: Executor, afterId: string, limit: number): Promise<IndexedAppRow[]> {
  return db.selectFrom('apps').select(['id', 'package_id', 'name', 'category']).where('status', '=', 'published').where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

/** Versions after an id, in id order, with what the model needs (every status: the caller keeps published and yanked). */
export async function versionsAfter(db: Executor, afterId: string, limit: number): Promise<(IndexedVersionRow & { id: string })[]> {
  const rows = await db
    .selectFrom('versions as v')
    .select(['v.id', 'v.app_id', 'v.version_code', 'v.status', 'v.channel', 'v.rollout_percent', 'v.halted_at', 'v.published_at', minMosisVersion(db).as('min_mosis_version')])
    .where('v.id', '>', afterId)
    .orderBy('v.id')
    .limit(limit)
    .execute();
  return rows.map((v) => ({ ...v, version_code: Number(v.version_code), rollout_percent: v.rollout_percent === null ? null : Number(v.rollout_percent) }));
}

/**
 * When each of these apps was first and last published (yanked versions count: they were in the
 * store), by app id; from the versions_published index alone, without reading a version row.
 */
export async function publicationSpans(db: Executor, appIds: readonly string[]): Promise<Map<string, { first: string; last: string }>> {
  if (appIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('versions')
    .select(['app_id', (eb) => eb.fn.min<string>('published_at').as('first'), (eb) => eb.fn.max<string>('published_at').as('last')])
    .where('app_id', 'in', [...appIds])
    .where('published_at', 'is not', null)
    .groupBy('app_id')
    .execute();
  return new Map(rows.map((r) => [r.app_id, { first: r.first, last: r.last }]));
}

/** Every translation's locale after a position (app id, locale), in that order. */
export function localesAfter(db: Executor, after: { appId: string; locale: string }, limit: number): Promise<{ app_id: string; locale: string }[]> {
  return db
    .selectFrom('app_listings')
    .select(['app_id', 'locale'])
    .where((eb) => eb.or([eb('app_id', '>', after.appId), eb.and([eb('app_id', '=', after.appId), eb('locale', '>', after.locale)])]))
    .orderBy('app_id')
    .orderBy('locale')
    .limit(limit)
    .execute();
}

/** Downloads since a day of the apps after an app id, `limit` apps at a time, in app id order. */
export async function downloadsAfter(db: Executor, afterAppId: string, day: string, limit: number): Promise<{ app_id: string; downloads: number }[]> {
  const rows = await db
    .selectFrom('store_downloads')
    .select(['app_id', (eb) => eb.fn.sum<number | string>('downloads').as('downloads')])
    .where('app_id', '>', afterAppId)
    .where('day', '>=', day)
    .groupBy('app_id')
    .orderBy('app_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ app_id: r.app_id, downloads: Number(r.downloads) }));
}

/** The same for named apps (a patch after an event, or a lookup before the build reached them). */
export async function indexedApps(db: Executor, by: { appIds: readonly string[] } | { packageIds: readonly string[] }, sinceDay: string): Promise<IndexedApps> {
  const ids = 'appIds' in by ? by.appIds : by.packageIds;
  if (ids.length === 0) return { apps: [], versions: [], locales: [], downloads: new Map() };
  const apps = await db
    .selectFrom('apps')
    .select(['id', 'package_id', 'name', 'category'])
    .where('status', '=', 'published')
    .where('appIds' in by ? 'id' : 'package_id', 'in', [...ids])
    .execute();
  return withVersions(db, apps, sinceDay);
}

async function withVersions(db: Executor, apps: IndexedAppRow[], sinceDay: string): Promise<IndexedApps> {
  if (apps.length === 0) return { apps, versions: [], locales: [], downloads: new Map() };
  const appIds = apps.map((a) => a.id);
  // By app id alone, the status filtered here: with a status condition SQLite's planner prefers
  // the review queue's (status, …) index and walks every published version of the portal.
  const versions = await db
    .selectFrom('versions as v')
    .select(['v.app_id', 'v.version_code', 'v.status', 'v.channel', 'v.rollout_percent', 'v.halted_at', 'v.published_at', minMosisVersion(db).as('min_mosis_version')])
    .where('v.app_id', 'in', appIds)
    .execute();
  const locales = await db.selectFrom('app_listings').select(['app_id', 'locale']).where('app_id', 'in', appIds).execute();
  return {
    apps,
    downloads: await downloadsSince(db, appIds, sinceDay),
    versions: versions
      .filter((v) => v.status === 'published' || v.status === 'yanked')
      .map((v) => ({ ...v, version_code: Number(v.version_code), rollout_percent: v.rollout_percent === null ? null : Number(v.rollout_percent) })),
    locales,
  };
}

/**
 * Downloads of these apps since a day (inclusive), by app id: what "popular" sorts by. Asked per
 * chunk of apps, so each query walks the primary key (app_id, day) of a few hundred apps instead of
 * every app's last month at once.
 */
export async function downloadsSince(db: Executor, appIds: readonly string[], day: string): Promise<Map<string, number>> {
  if (appIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('store_downloads')
    .select(['app_id', (eb) => eb.fn.sum<number | string>('downloads').as('downloads')])
    .where('app_id', 'in', [...appIds])
    .where('day', '>=', day)
    .groupBy('app_id')
    .execute();
  return new Map(rows.map((r) => [r.app_id, Number(r.downloads)]));
}

/** A published version as devices are told about it. */
export interface StoreVersionRow {
  app_id: string;
  package_id: string;
  id: string;
  version: string;
  version_code: number;
  channel: string | null;
  size: number;
  sha256: string;
  permissions: string;
  release_notes: string | null;
  published_at: string | null;
  store_signature: string | null;
  store_key_id: string | null;
  min_mosis_version: string | null;
  author_name: string | null;
  author_url: string | null;
}

/** An app of the read model, as the queries that fill its caches address it. */
export interface AppRef {
  appId: string;
  packageId: string;
}

function storeVersionColumns(db: Executor) {
  return db
    .selectFrom('versions as v')
    .select([
      'v.app_id',
      'v.id',
      'v.status',
      'v.version',
      'v.version_code',
      'v.channel',
      'v.size',
      'v.sha256',
      'v.permissions',
      'v.release_notes',
      'v.published_at',
      'v.store_signature',
      'v.store_key_id',
      minMosisVersion(db).as('min_mosis_version'),
      manifestAuthor(db, 'name').as('author_name'),
      manifestAuthor(db, 'url').as('author_url'),
    ]);
}

type VersionRowOut = Awaited<ReturnType<ReturnType<typeof storeVersionColumns>['execute']>>[number];

function published(rows: VersionRowOut[], packageOf: ReadonlyMap<string, string>): StoreVersionRow[] {
  return rows
    .filter((r) => r.status === 'published')
    .map(({ status: _status, ...r }) => ({ ...r, package_id: packageOf.get(r.app_id) ?? '', version_code: Number(r.version_code), size: Number(r.size) }));
}

/** Every published (not yanked) version of these apps: one chunk of the signed index. */
export async function publishedVersionsOf(db: Executor, apps: readonly AppRef[]): Promise<StoreVersionRow[]> {
  if (apps.length === 0) return [];
  const packageOf = new Map(apps.map((a) => [a.appId, a.packageId]));
  // By app id alone, the status filtered here (see withVersions).
  return published(await storeVersionColumns(db).where('v.app_id', 'in', [...packageOf.keys()]).execute(), packageOf);
}

/**
 * Exactly these versions (app, version code), if published and not yanked: what a detail or an
 * update check shows, one row each by the (app_id, version_code) index.
 */
export async function publishedVersions(db: Executor, wanted: readonly (readonly [AppRef, number])[]): Promise<StoreVersionRow[]> {
  if (wanted.length === 0) return [];
  const packageOf = new Map(wanted.map(([a]) => [a.appId, a.packageId]));
  const rows = await storeVersionColumns(db)
    .where((eb) => eb(eb.refTuple('v.app_id', 'v.version_code'), 'in', wanted.map(([a, code]) => eb.tuple(a.appId, code))))
    .execute();
  return published(rows, packageOf);
}

/** The listing text of an app in every locale, and its images: what a detail page or a catalog item shows. */
export interface ListingRows {
  app: { id: string; package_id: string; name: string; summary: string; description: string; category: string | null };
  translations: { locale: string; name: string; summary: string; description: string }[];
  icon: string | null;
  screenshots: { sha256: string; width: number; height: number }[];
}

/**
 * Listings of published apps by package id; `withDescriptions: false` leaves the long texts out
 * (catalog items). Translations are read only for apps that have some (the model knows which).
 */
export async function listingsOf(db: Executor, refs: readonly (AppRef & { translated: boolean })[], withDescriptions: boolean): Promise<Map<string, ListingRows>> {
  const found = new Map<string, ListingRows>();
  if (refs.length === 0) return found;
  const apps = await db
    .selectFrom('apps')
    .select(['id', 'package_id', 'name', 'summary', 'category', withDescriptions ? 'description' : sql<string>`''`.as('description')])
    .where('id', 'in', refs.map((r) => r.appId))
    .where('status', '=', 'published')
    .execute();
  if (apps.length === 0) return found;
  const byId = new Map<string, ListingRows>();
  for (const app of apps) {
    const rows: ListingRows = { app, translations: [], icon: null, screenshots: [] };
    byId.set(app.id, rows);
    found.set(app.package_id, rows);
  }
  const appIds = [...byId.keys()];
  const translated = refs.filter((r) => r.translated && byId.has(r.appId)).map((r) => r.appId);
  if (translated.length > 0) {
    const translations = await db
      .selectFrom('app_listings')
      .select(['app_id', 'locale', 'name', 'summary', withDescriptions ? 'description' : sql<string>`''`.as('description')])
      .where('app_id', 'in', translated)
      .orderBy('locale')
      .execute();
    for (const t of translations) byId.get(t.app_id)?.translations.push(t);
  }
  const images = await db
    .selectFrom('app_images')
    .select(['app_id', 'kind', 'sha256', 'width', 'height'])
    .where('app_id', 'in', appIds)
    .where(withDescriptions ? sql<boolean>`1 = 1` : sql<boolean>`kind = 'icon'`)
    .orderBy('id')
    .execute();
  for (const image of images) {
    const rows = byId.get(image.app_id);
    if (!rows) continue;
    if (image.kind === 'icon') rows.icon = image.sha256;
    else rows.screenshots.push({ sha256: image.sha256, width: Number(image.width), height: Number(image.height) });
  }
  return found;
}

/**
 * The published, non-yanked versions of the next `limit` published apps after a package id, by
 * package id and version code: one chunk of the signed index. `next` is where the next chunk starts
 * (null after the last).
 */
export async function indexChunk(db: Executor, afterPackageId: string, limit: number): Promise<{ rows: StoreVersionRow[]; next: string | null }> {
  const apps = await db.selectFrom('apps').select(['id', 'package_id']).where('status', '=', 'published').where('package_id', '>', afterPackageId).orderBy('package_id').limit(limit).execute();
  const rows = await publishedVersionsOf(db, apps.map((a) => ({ appId: a.id, packageId: a.package_id })));
  rows.sort((a, b) => (a.package_id < b.package_id ? -1 : a.package_id > b.package_id ? 1 : a.version_code - b.version_code));
  return { rows, next: apps.length < limit ? null : (apps.at(-1)?.package_id ?? null) };
}

/** Most matches a search returns: deeper pages are not what a store's search is for. */
export const MAX_SEARCH_MATCHES = 1000;

/**
 * Published apps matching every term as a word prefix, best first: the default listing (name,
 * summary, description, category, package id) or any translation (name, summary, description).
 * One function, one implementation per dialect: FTS5's bm25 on SQLite, ts_rank on PostgreSQL.
 * Terms are letters and digits only (searchTerms), so they cannot change the query's syntax.
 */
export async function searchPackages(db: Executor, terms: readonly string[], category: string | null): Promise<string[]> {
  if (terms.length === 0) return [];
  const byCategory = category === null ? sql`` : sql`and a.category = ${category}`;
  if (isPostgres(db)) {
    const query = terms.map((t) => `${t}:*`).join(' & ');
    // Bounded in the server too: a search is worth seconds at most, never a pooled connection held longer.
    if (!db.isTransaction) return db.transaction().execute((trx) => searchPackages(trx, terms, category));
    await sql`set local statement_timeout = 5000`.execute(db);
    const result = await sql<{ package_id: string }>`
      select a.package_id from (
        select id as app_id, ts_rank(search_document, to_tsquery('simple', ${query})) as rank from apps
          where search_document @@ to_tsquery('simple', ${query})
        union all
        select app_id, ts_rank(search_document, to_tsquery('simple', ${query})) from app_listings
          where search_document @@ to_tsquery('simple', ${query})
      ) m join apps a on a.id = m.app_id
      where a.status = 'published' ${byCategory}
      group by a.package_id order by max(m.rank) desc, a.package_id limit ${MAX_SEARCH_MATCHES}`.execute(db);
    return result.rows.map((r) => r.package_id);
  }
  const query = terms.map((t) => `"${t}"*`).join(' ');
  // bm25 weights in column order: package_id, name, summary, description, category. Lower is better.
  // Materialized: SQLite only evaluates bm25() in a query it does not flatten into the join. Without
  // a category the best documents are enough to find the best apps, and FTS5 keeps only those.
  const bestDocuments = category === null ? sql`order by bm25(store_search, 6.0, 10.0, 4.0, 1.0, 3.0) limit ${MAX_SEARCH_MATCHES * 3}` : sql``;
  const result = await sql<{ package_id: string }>`
    with matched as materialized (
      select rowid as doc_id, bm25(store_search, 6.0, 10.0, 4.0, 1.0, 3.0) as rank from store_search where store_search match ${query} ${bestDocuments}
    )
    select a.package_id from (
      select d.app_id, min(matched.rank) as rank from matched join store_search_docs d on d.doc_id = matched.doc_id group by d.app_id
    ) m join apps a on a.id = m.app_id
    where a.status = 'published' ${byCategory}
    order by m.rank, a.package_id limit ${MAX_SEARCH_MATCHES}`.execute(db);
  return result.rows.map((r) => r.package_id);
}

/**
 * A search box's text as terms: words of letters and digits, lower case, at most 8 of at most 32
 * characters. One-letter words are left out: as a prefix each matches most of the catalog and
 * would only cost ranking work.
 */
export function searchTerms(q: string): string[] {
  const words = q.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  // Sorted: every word must match whatever the order, so "b a" and "a b" are one search (and one cache entry).
  return [...new Set(words.filter((w) => [...w].length >= 2).map((w) => w.slice(0, 32)))].slice(0, 8).sort();
}
