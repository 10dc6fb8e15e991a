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
}

/** Published apps after `afterPackageId` in package id order, with their versions and locales: one chunk of a build. */
export async function indexedAppsAfter(db: Executor, afterPackageId: string, limit: number): Promise<IndexedApps> {
  const apps = await db
    .selectFrom('apps')
    .select(['id', 'package_id', 'name', 'category'])
    .where('status', '=', 'published')
    .where('package_id', '>', afterPackageId)
    .orderBy('package_id')
    .limit(limit)
    .execute();
  return withVersions(db, apps);
}

/** The same for named apps (a patch after an event, or a lookup before the build reached them). */
export async function indexedApps(db: Executor, by: { appIds: readonly string[] } | { packageIds: readonly string[] }): Promise<IndexedApps> {
  const ids = 'appIds' in by ? by.appIds : by.packageIds;
  if (ids.length === 0) return { apps: [], versions: [], locales: [] };
  const apps = await db
    .selectFrom('apps')
    .select(['id', 'package_id', 'name', 'category'])
    .where('status', '=', 'published')
    .where('appIds' in by ? 'id' : 'package_id', 'in', [...ids])
    .execute();
  return withVersions(db, apps);
}

async function withVersions(db: Executor, apps: IndexedAppRow[]): Promise<IndexedApps> {
  if (apps.length === 0) return { apps, versions: [], locales: [] };
  const appIds = apps.map((a) => a.id);
  const versions = await db
    .selectFrom('versions as v')
    .select(['v.app_id', 'v.version_code', 'v.status', 'v.channel', 'v.rollout_percent', 'v.halted_at', 'v.published_at', minMosisVersion(db).as('min_mosis_version')])
    .where('v.app_id', 'in', appIds)
    .where('v.status', 'in', ['published', 'yanked'])
    .execute();
  const locales = await db.selectFrom('app_listings').select(['app_id', 'locale']).where('app_id', 'in', appIds).execute();
  return { apps, versions: versions.map((v) => ({ ...v, version_code: Number(v.version_code), rollout_percent: v.rollout_percent === null ? null : Number(v.rollout_percent) })), locales };
}

/** Downloads per published app since a day (inclusive): what "popular" sorts by. */
export async function downloadsSince(db: Executor, day: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('store_downloads as d')
    .innerJoin('apps as a', 'a.id', 'd.app_id')
    .select(['a.package_id', (eb) => eb.fn.sum<number | string>('d.downloads').as('downloads')])
    .where('d.day', '>=', day)
    .where('a.status', '=', 'published')
    .groupBy('a.package_id')
    .execute();
  return new Map(rows.map((r) => [r.package_id, Number(r.downloads)]));
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
}

/** Published (not yanked) versions of these packages; the caller picks the codes it needs. */
export async function publishedVersionsOf(db: Executor, packageIds: readonly string[]): Promise<StoreVersionRow[]> {
  if (packageIds.length === 0) return [];
  const rows = await db
    .selectFrom('versions as v')
    .innerJoin('apps as a', 'a.id', 'v.app_id')
    .select([
      'v.app_id',
      'a.package_id',
      'v.id',
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
    ])
    .where('a.package_id', 'in', [...packageIds])
    .where('a.status', '=', 'published')
    .where('v.status', '=', 'published')
    .execute();
  return rows.map((r) => ({ ...r, version_code: Number(r.version_code), size: Number(r.size) }));
}

/** One published version of a package, for a download. */
export async function publishedVersion(db: Executor, packageId: string, versionCode: number): Promise<StoreVersionRow | undefined> {
  const rows = await publishedVersionsOf(db, [packageId]);
  return rows.find((r) => r.version_code === versionCode);
}

/** The listing text of an app in every locale, and its images: what a detail page or a catalog item shows. */
export interface ListingRows {
  app: { id: string; package_id: string; name: string; summary: string; description: string; category: string | null };
  translations: { locale: string; name: string; summary: string; description: string }[];
  icon: string | null;
  screenshots: { sha256: string; width: number; height: number }[];
}

/** Listings of published apps by package id; `withDescriptions: false` leaves the long texts out (catalog items). */
export async function listingsOf(db: Executor, packageIds: readonly string[], withDescriptions: boolean): Promise<Map<string, ListingRows>> {
  const found = new Map<string, ListingRows>();
  if (packageIds.length === 0) return found;
  const apps = await db
    .selectFrom('apps')
    .select(['id', 'package_id', 'name', 'summary', 'category', withDescriptions ? 'description' : sql<string>`''`.as('description')])
    .where('package_id', 'in', [...packageIds])
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
  const translations = await db
    .selectFrom('app_listings')
    .select(['app_id', 'locale', 'name', 'summary', withDescriptions ? 'description' : sql<string>`''`.as('description')])
    .where('app_id', 'in', appIds)
    .orderBy('locale')
    .execute();
  for (const t of translations) byId.get(t.app_id)?.translations.push(t);
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

/** Published, non-yanked versions in package id order after a position: one chunk of the signed index. */
export async function indexChunk(db: Executor, after: { packageId: string; versionCode: number }, limit: number): Promise<StoreVersionRow[]> {
  const rows = await db
    .selectFrom('versions as v')
    .innerJoin('apps as a', 'a.id', 'v.app_id')
    .select([
      'v.app_id',
      'a.package_id',
      'v.id',
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
    ])
    .where('a.status', '=', 'published')
    .where('v.status', '=', 'published')
    .where((eb) =>
      eb.or([eb('a.package_id', '>', after.packageId), eb.and([eb('a.package_id', '=', after.packageId), eb('v.version_code', '>', after.versionCode)])]),
    )
    .orderBy('a.package_id')
    .orderBy('v.version_code')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, version_code: Number(r.version_code), size: Number(r.size) }));
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
  // Materialized: SQLite only evaluates bm25() in a query it does not flatten into the join.
  const result = await sql<{ package_id: string }>`
    with matched as materialized (
      select rowid as doc_id, bm25(store_search, 6.0, 10.0, 4.0, 1.0, 3.0) as rank from store_search where store_search match ${query}
    )
    select a.package_id from (
      select d.app_id, min(matched.rank) as rank from matched join store_search_docs d on d.doc_id = matched.doc_id group by d.app_id
    ) m join apps a on a.id = m.app_id
    where a.status = 'published' ${byCategory}
    order by m.rank, a.package_id limit ${MAX_SEARCH_MATCHES}`.execute(db);
  return result.rows.map((r) => r.package_id);
}

/** A search box's text as terms: words of letters and digits, lower case, at most 8 of at most 32 characters. */
export function searchTerms(q: string): string[] {
  const words = q.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.map((w) => w.slice(0, 32)))].slice(0, 8);
}
