import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../../db/index.js';
import { latestEventId, type DomainEvent, type EventLog, type Subscription } from '../../events/index.js';
import { AppError, commonError, type Clock } from '../../shared/index.js';
import type { BlobStore } from '../../storage/index.js';
import { ByteCache } from './byte-cache.js';
import { buildModel } from './model-build.js';
import type { DeviceIds } from '../../storage/index.js';
import { DownloadCounter } from './download-counter.js';
import { chooseLocale } from './locale-choice.js';
import type { DeviceProfile } from './rollout.js';
import type { StoreSearch } from './search.js';
import type { SignedIndex } from './signed-index.js';
import { storeError } from './store.errors.js';
import { COMPARATORS, StoreModel, sortValue, type SortPosition, type StoreApp, type StoreSort } from './store-model.js';
import * as repo from './store.repository.js';

export interface StoreDeps {
  db: Db;
  clock: Clock;
  events: EventLog;
  blobs: BlobStore;
  deviceIds: DeviceIds;
  index: SignedIndex;
  /** Full-text search (off the main thread on SQLite). */
  search: StoreSearch;
  baseUrl: string;
  log: { warn(details: object, message: string): void; info(details: object, message: string): void };
  /** Bytes of serialized pages, listings and versions kept in memory. */
  cacheBytes: number;
  /**
   * Downloads answered by a redirect to a URL of the blob store valid this many seconds
   * (STORAGE_DOWNLOADS=redirect on S3); null or absent: the portal streams them.
   */
  downloadRedirectSeconds?: number | null;
  /** How long a catalog request waits for the first build (default BUILD_WAIT_MS); tests make it short. */
  buildWaitMs?: number;
}

/** A serialized answer with its strong ETag. */
export interface CachedBody {
  readonly body: string;
  readonly etag: string;
  readonly bytes: number;
}

/** A published version as devices see it, serialized once, with what a download needs. */
interface VersionEntry {
  readonly json: string;
  readonly row: repo.StoreVersionRow;
  readonly bytes: number;
}

interface ListingEntry {
  /** The detail's JSON without its closing brace: the caller's version is appended. */
  readonly head: string;
  readonly etag: string;
  readonly bytes: number;
}

interface SearchEntry {
  readonly packageIds: readonly string[];
  readonly bytes: number;
}

export interface CatalogQuery {
  q?: string | undefined;
  category?: string | undefined;
  sort?: StoreSort | 'relevance' | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** What a download route needs to serve and count a package. */
export interface StorePackage {
  appId: string;
  versionId: string;
  packageId: string;
  versionCode: number;
  sha256: string;
  size: number;
  publishedAt: string | null;
  storeSignature: string | null;
  storeKeyId: string | null;
}

/** Apps per query of a download-count refresh: each blocks the event loop a few milliseconds on SQLite. */
const REFRESH_CHUNK = 500;
const POPULAR_REFRESH_MS = 5 * 60_000;
/** Versions one query reads when filling the version cache. */
const VERSION_SLICE = 100;
/**
 * How long a request naming what the model lacks waits for the model to catch up with the event
 * log: another instance may have just published it (a device told "published" downloads at once).
 */
const CATCH_UP_MS = 2_000;
/** How long a catalog request waits for the first build before it is told to come back. */
const BUILD_WAIT_MS = 10_000;
const POPULAR_DAYS = 30;

const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
const iso = (seconds: number): string | null => (seconds > 0 ? new Date(seconds * 1000).toISOString() : null);

/**
 * The store as devices read it. Answers come from the read model and from caches of serialized
 * bodies; the database is asked only to fill a cache, to search, and to build or patch the model.
 * The model is built in chunks when the store first starts, so a cold instance answers details and
 * update checks at once (looking those apps up itself); catalog pages wait for the catalog's
 * orders, the build's first step (a second or two at the seed's size), not for every version.
 */
export class StoreService {
  readonly model = new StoreModel();
  private readonly pages: ByteCache<CachedBody>;
  private readonly listings: ByteCache<ListingEntry>;
  private readonly versions: ByteCache<VersionEntry>;
  private readonly searches: ByteCache<SearchEntry>;
  readonly downloads: DownloadCounter;
  private started: Promise<void> | undefined;
  private built: Promise<void> | undefined;
  private subscription: Subscription | undefined;
  private popularTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * Bumped whenever the model changes. A page or search made across an await is cached only if no
   * change came in meanwhile, so a body built from the old catalog cannot outlive the change.
   */
  private generation = 0;
  private refreshing = false;
  /** Pauses in progress, ended by stop(). */
  private readonly wakers = new Set<() => void>();
  /** Catalog requests waiting for the orders, woken when they exist (or the store stops). */
  private readonly orderWaiters = new Set<() => void>();

  constructor(private readonly deps: StoreDeps) {
    // Pages and listings churn with every change; version bodies only with their app's, so they get the larger share.
    const quarter = Math.floor(deps.cacheBytes / 4);
    this.pages = new ByteCache(quarter);
    this.listings = new ByteCache(quarter);
    this.searches = new ByteCache(Math.floor(quarter / 2));
    this.versions = new ByteCache(deps.cacheBytes - 2 * quarter - Math.floor(quarter / 2));
    this.downloads = new DownloadCounter({ db: deps.db, logger: deps.log });
  }

  /**
   * Starts the store once: the model's build in the background, then following the event log from
   * where the build began, and the signed index. Called by `serve`, and by the first store request.
   */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.deps.events.start();
      const position = await latestEventId(this.deps.db);
      this.built = this.build().then(() => {
        if (this.stopped) return;
        // After the model: both read the whole catalog, and the model is what requests wait for.
        void this.deps.index.start().catch((err: unknown) => this.deps.log.warn({ err }, 'store: the signed index could not be built'));
        this.subscription = this.deps.events.follow(position, (event) => this.onEvent(event));
        this.popularTimer = setInterval(() => void this.refreshPopular(), POPULAR_REFRESH_MS);
        this.popularTimer.unref();
      });
      this.built.catch((err: unknown) => this.deps.log.warn({ err }, 'store: the read model could not be built'));
    })();
    return this.started;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    this.ordersReady();
    clearInterval(this.popularTimer);
    await this.built?.catch(() => undefined);
    await this.subscription?.stop();
    await this.deps.index.stop();
    await this.deps.search.close();
    await this.downloads.flush();
  }

  /** Resolves once the model reflects every event committed before the call (tests, and read-your-writes). */
  async settled(): Promise<void> {
    await this.start();
    await this.built;
    const target = await latestEventId(this.deps.db);
    this.deps.events.notify();
    while (!this.stopped && (this.subscription?.position ?? 0) < target) await new Promise((resolve) => setTimeout(resolve, 2));
    await this.deps.index.settled();
  }

  /** The last event the read model has applied, or null before it follows the log (its lag on /metrics). */
  eventPosition(): number | null {
    return this.subscription?.position ?? null;
  }

  // ---- catalog ----

  async catalog(query: CatalogQuery, languages: readonly string[]): Promise<CachedBody> {
    await this.whenBuilt();
    const category = query.category ?? null;
    const terms = query.q === undefined ? [] : repo.searchTerms(query.q);
    const searching = query.q !== undefined;
    const sort = query.sort ?? (searching ? 'relevance' : 'popular');
    if (sort === 'relevance' && !searching) throw commonError('validation_failed', 'sort=relevance needs q.', [{ path: 'querystring.sort', message: 'relevance is only for a search (q)' }]);
    const key = `${searching ? terms.join(' ') : ''}\n${sort}\n${category ?? ''}\n${query.cursor ?? ''}\n${query.limit}\n${languages.join(',')}`;
    const cached = this.pages.get(key);
    if (cached) return cached;
    const generation = this.generation;

    let apps: StoreApp[];
    let next: string | null = null;
    if (searching) {
      const offset = query.cursor === undefined ? 0 : decodeOffset(query.cursor);
      let matches = await this.search(terms, category);
      if (sort !== 'relevance') matches = [...matches].sort(COMPARATORS[sort]);
      apps = matches.slice(offset, offset + query.limit);
      if (offset + query.limit < matches.length) next = encodeCursorValue([offset + query.limit]);
    } else {
      const after = query.cursor === undefined ? null : decodePosition(query.cursor, sort as StoreSort);
      const page = this.model.page(sort as StoreSort, category, after, query.limit);
      apps = page.apps;
      const last = apps.at(-1);
      if (page.more && last) next = encodeCursorValue([sortValue(last, sort as StoreSort), last.packageId]);
    }
    const items = await this.items(apps, languages);
    const body = `{"items":[${items.join(',')}],"next_cursor":${JSON.stringify(next)}}`;
    const entry = { body, etag: etagOf(body), bytes: body.length + 200 };
    if (generation === this.generation) this.pages.set(key, entry);
    return entry;
  }

  async categories(): Promise<CachedBody> {
    await this.whenBuilt();
    const cached = this.pages.get('categories');
    if (cached) return cached;
    const body = JSON.stringify({ items: this.model.categories() });
    const entry = { body, etag: etagOf(body), bytes: body.length };
    this.pages.set('categories', entry);
    return entry;
  }

  // ---- one app ----

  detail(packageId: string, languages: readonly string[], device: DeviceProfile): Promise<CachedBody> {
    return this.orCaughtUp(() => this.detailNow(packageId, languages, device));
  }

  private async detailNow(packageId: string, languages: readonly string[], device: DeviceProfile): Promise<CachedBody> {
    const app = (await this.lookup([packageId])).get(packageId);
    if (!app) throw storeError('store_app_not_found', `No published app has the package id ${packageId}.`);
    const locale = chooseLocale(languages, app.locales);
    // Chosen before any await: a patch meanwhile may move the app's versions in the columns.
    const code = this.model.chooseVersion(app, device);
    const listing = await this.listing(app, locale);
    if (!listing) throw storeError('store_app_not_found', `No published app has the package id ${packageId}.`);
    const version = code === null ? undefined : (await this.versionEntries([[app, code]])).get(versionKey(app, code));
    const body = `${listing.head},"version":${version?.json ?? 'null'}}`;
    // The revision covers what the version body holds (its notes change the app's revision).
    return { body, etag: `"${listing.etag.slice(1, -1)}.${code ?? 0}.${app.rev}"`, bytes: body.length };
  }

  /**
   * Every published, non-yanked version of an app, newest first, a page at a time: what a store
   * front shows as the app's version history (the detail answers only the version a device gets).
   * Staged, halted and beta versions are listed too, as in the signed index: their files are public.
   */
  versionHistory(packageId: string, query: { limit: number; cursor?: string | undefined }): Promise<CachedBody> {
    return this.orCaughtUp(() => this.versionHistoryNow(packageId, query));
  }

  private async versionHistoryNow(packageId: string, query: { limit: number; cursor?: string | undefined }): Promise<CachedBody> {
    const app = (await this.lookup([packageId])).get(packageId);
    if (!app) throw storeError('store_app_not_found', `No published app has the package id ${packageId}.`);
    const below = query.cursor === undefined ? null : decodeVersionCursor(query.cursor);
    // Read before any await: a patch meanwhile may move the app's versions in the columns.
    const codes = this.model.publishedCodes(app).filter((code) => below === null || code < below);
    const page = codes.slice(0, query.limit);
    const entries = await this.versionEntries(page.map((code) => [app, code] as const));
    const parts: string[] = [];
    for (const code of page) {
      const entry = entries.get(versionKey(app, code));
      if (entry) parts.push(entry.json);
    }
    const last = page.at(-1);
    const next = codes.length > page.length && last !== undefined ? encodeCursorValue([last]) : null;
    const body = `{"items":[${parts.join(',')}],"next_cursor":${JSON.stringify(next)}}`;
    return { body, etag: etagOf(body), bytes: body.length };
  }

  /** For each installed app, in the order given, the update this device may get; unknown packages are skipped. */
  async updates(installed: readonly { package_id: string; version_code: number }[], device: DeviceProfile): Promise<string> {
    const apps = await this.lookup(installed.map((i) => i.package_id));
    const wanted: [StoreApp, number][] = [];
    const seen = new Set<string>();
    for (const { package_id, version_code } of installed) {
      const app = apps.get(package_id);
      if (!app || seen.has(package_id)) continue;
      seen.add(package_id);
      const code = this.model.chooseVersion(app, device);
      if (code !== null && code > version_code) wanted.push([app, code]);
    }
    const entries = await this.versionEntries(wanted);
    const parts: string[] = [];
    for (const [app, code] of wanted) {
      const entry = entries.get(versionKey(app, code));
      if (entry) parts.push(entry.json);
    }
    return `{"updates":[${parts.join(',')}]}`;
  }

  /** A published, non-yanked version's file, for a download; 404 for anything else. */
  package(packageId: string, versionCode: number): Promise<StorePackage & { open: (range?: { start: number; end: number }) => Promise<Readable>; redirect: (() => Promise<string>) | null }> {
    return this.orCaughtUp(() => this.packageNow(packageId, versionCode));
  }

  private async packageNow(packageId: string, versionCode: number): Promise<StorePackage & { open: (range?: { start: number; end: number }) => Promise<Readable>; redirect: (() => Promise<string>) | null }> {
    const app = (await this.lookup([packageId])).get(packageId);
    const entry = app && this.model.hasVersion(app, versionCode) ? (await this.versionEntries([[app, versionCode]])).get(versionKey(app, versionCode)) : undefined;
    if (!entry) throw storeError('store_package_not_found', `Version ${versionCode} of ${packageId} is not in the store.`);
    const { row } = entry;
    return {
      appId: row.app_id,
      versionId: row.id,
      packageId,
      versionCode,
      sha256: row.sha256,
      size: row.size,
      publishedAt: row.published_at,
      storeSignature: row.store_signature,
      storeKeyId: row.store_key_id,
      // Resolved once the store answered: a bucket that is down is a 503, not a cut download.
      open: (range) => this.deps.blobs.open(row.sha256, range),
      redirect: this.redirectOf(row.sha256, `${packageId}-${versionCode}.mosis`),
    };
  }

  /** A presigned URL of the package in the blob store, when downloads go by redirect. */
  private redirectOf(sha256: string, fileName: string): (() => Promise<string>) | null {
    const seconds = this.deps.downloadRedirectSeconds ?? null;
    const { blobs } = this.deps;
    if (seconds === null || !blobs.downloadUrl) return null;
    return () => blobs.downloadUrl!(sha256, { fileName, seconds });
  }

  /** Counts a download once per device (or, without a device id, per client IP) per version per UTC day. */
  countDownload(pkg: StorePackage, deviceId: string | null, ip: string): void {
    const deviceHash = this.deps.deviceIds.hash(deviceId === null ? `ip:${ip}` : `device:${deviceId}`);
    const day = this.deps.clock.now().toISOString().slice(0, 10);
    this.downloads.count({ appId: pkg.appId, versionId: pkg.versionId, versionCode: pkg.versionCode, deviceHash, day });
  }

  /** Daily downloads of one app by version, for its developer (ownership is the caller's to check). */
  async downloadsOf(appId: string, days: number): Promise<{ day: string; version_code: number; downloads: number }[]> {
    const since = this.day(-(days - 1));
    const rows = await this.deps.db
      .selectFrom('store_downloads')
      .select(['day', 'version_code', 'downloads'])
      .where('app_id', '=', appId)
      .where('day', '>=', since)
      .orderBy('day')
      .orderBy('version_code')
      .execute();
    return rows.map((r) => ({ day: r.day, version_code: Number(r.version_code), downloads: Number(r.downloads) }));
  }

  /**
   * The daily chores: marks older than yesterday go (only today's stop a count), and on SQLite the
   * planner's statistics are brought up to date (the catalog grows; see db/connect.ts).
   */
  async dailyChores(): Promise<void> {
    await this.downloads.prune(this.day(0));
    if (!(this.deps.db.getExecutor().adapter instanceof PostgresAdapter)) await sql`pragma optimize`.execute(this.deps.db);
  }

  // ---- the model ----

  /** An answer, asked again once if it was a 404 while the model lagged behind the event log and has caught up since. */
  private async orCaughtUp<T>(answer: () => Promise<T>): Promise<T> {
    // Where the model stood when it answered: it may move on while the 404 is looked at.
    const answeredAt = this.subscription?.position;
    try {
      return await answer();
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 404 || answeredAt === undefined || !(await this.caughtUp(answeredAt))) throw err;
      return answer();
    }
  }

  /**
   * Whether the model, which answered at event `answeredAt`, was behind the event log then and has
   * caught up with it since, waiting up to CATCH_UP_MS. False at once when it was not behind: a 404
   * for what does not exist costs one query.
   */
  private async caughtUp(answeredAt: number): Promise<boolean> {
    const subscription = this.subscription;
    // Not following the log yet: lookups read the database themselves until the build is done.
    if (!subscription) return false;
    const target = await latestEventId(this.deps.db);
    if (answeredAt >= target) return false;
    this.deps.events.notify();
    const deadline = Date.now() + CATCH_UP_MS;
    while (!this.stopped && subscription.position < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return subscription.position >= target;
  }

  /** Waits for the catalog's orders, for a while: a store whose database is away answers 503, not never. */
  private async whenBuilt(): Promise<void> {
    await this.start();
    if (this.model.ordered) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.orderWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.deps.buildWaitMs ?? BUILD_WAIT_MS);
      this.orderWaiters.add(done);
    });
    if (!this.model.ordered) throw storeError('store_starting', 'The store is loading its catalog; try again in a few seconds.');
  }

  private ordersReady(): void {
    for (const done of [...this.orderWaiters]) done();
  }

  /** Builds the model, trying again (with a growing pause) while the database fails. */
  private async build(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt += 1) {
      const started = Date.now();
      try {
        const ordered = () => {
          this.deps.log.info({ apps: this.model.size, ms: Date.now() - started }, 'store: catalog ordered');
          this.ordersReady();
        };
        if (!(await buildModel(this.model, this.deps.db, this.popularSince(), () => this.stopped, ordered))) return;
        this.deps.log.info({ ...this.model.stats(), ms: Date.now() - started }, 'store: read model built');
        return;
      } catch (err) {
        this.deps.log.warn({ err, attempt }, 'store: cannot build the read model, trying again');
        this.model.clear();
        await this.pause(attempt);
      }
    }
  }

  /** 100 ms, doubling to 5 s; cut short by stop(). */
  private async pause(attempt: number): Promise<void> {
    if (this.stopped) return;
    const ms = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /**
   * Apps by package id from the model, with their versions. Before the build is complete, an app
   * it has not reached (or whose versions it has not read yet) is read from the database and put
   * in, so a cold instance answers at once.
   */
  private async lookup(packageIds: readonly string[]): Promise<ReadonlyMap<string, StoreApp> | StoreModel> {
    void this.start();
    // Complete: the model answers every lookup itself (no copy of what a request names).
    if (this.model.complete) return this.model;
    const found = new Map<string, StoreApp>();
    const missing: string[] = [];
    for (const id of packageIds) {
      const app = this.model.get(id);
      if (app?.loaded) found.set(id, app);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const rows = await repo.indexedApps(this.deps.db, { packageIds: missing }, this.popularSince());
      if (!this.model.complete) this.model.addLooked(rows);
      for (const id of missing) {
        const app = this.model.get(id);
        if (app?.loaded) found.set(id, app);
      }
    }
    return found;
  }

  /**
   * An event about an app: read the app again and replace it in the model, then drop what was
   * served of it. A database that fails is tried again until it answers: the subscription must not
   * end (every later change would be missed) nor skip this one (a yank would go unseen).
   */
  private async onEvent(event: DomainEvent): Promise<void> {
    const { appId } = event;
    if (appId === null) return;
    for (let attempt = 0; !this.stopped; attempt += 1) {
      try {
        const rows = await repo.indexedApps(this.deps.db, { appIds: [appId] }, this.popularSince());
        const old = this.model.byAppId(appId);
        this.model.patch(rows, old && rows.apps.length === 0 ? [old] : []);
        break;
      } catch (err) {
        this.deps.log.warn({ err, attempt, event: event.id }, 'store: cannot read a changed app, trying again');
        await this.pause(attempt);
      }
    }
    this.changed();
    // The index lists published, non-yanked versions: only these change it.
    if (event.type === 'version.published' || event.type === 'version.yanked') this.deps.index.changed();
  }

  /**
   * Re-reads every app's downloads of the last 30 days, a chunk of apps at a time (requests are
   * served between chunks), then re-sorts "popular" once.
   */
  private async refreshPopular(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const since = this.popularSince();
      const appIds = [...this.model.values()].map((a) => a.appId);
      const downloads = new Map<string, number>();
      for (let i = 0; i < appIds.length && !this.stopped; i += REFRESH_CHUNK) {
        for (const [appId, count] of await repo.downloadsSince(this.deps.db, appIds.slice(i, i + REFRESH_CHUNK), since)) downloads.set(appId, count);
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Applied at once: the "popular" order must never see counts it was not sorted by.
      if (!this.stopped && this.model.setDownloads(downloads)) this.changed();
    } catch (err) {
      this.deps.log.warn({ err }, 'store: cannot refresh download counts');
    } finally {
      this.refreshing = false;
    }
  }

  private popularSince(): string {
    return this.day(-(POPULAR_DAYS - 1));
  }

  private changed(): void {
    this.generation += 1;
    this.pages.clear();
    this.searches.clear();
  }

  private async search(terms: readonly string[], category: string | null): Promise<StoreApp[]> {
    const key = `${terms.join(' ')}\n${category ?? ''}`;
    let entry = this.searches.get(key);
    if (!entry) {
      const generation = this.generation;
      const packageIds = await this.deps.search.search(terms, category);
      // Counted with what the heap pays per entry and per string, not the characters alone.
      entry = { packageIds, bytes: 200 + packageIds.reduce((n, id) => n + id.length + 40, 0) };
      if (generation === this.generation) this.searches.set(key, entry);
    }
    const apps: StoreApp[] = [];
    for (const id of entry.packageIds) {
      const app = this.model.get(id);
      if (app) apps.push(app);
    }
    return apps;
  }

  // ---- serialized bodies ----

  private async items(ordered: readonly StoreApp[], languages: readonly string[]): Promise<string[]> {
    // While a cold build reads versions, a page's apps may lack theirs.
    const found = ordered.every((app) => app.loaded) ? null : await this.lookup(ordered.map((a) => a.packageId));
    const apps = found === null ? ordered : ordered.flatMap((app) => found.get(app.packageId) ?? []);
    const codes = apps.map((app) => [app, this.model.fullRelease(app)] as const);
    const listings = await repo.listingsOf(this.deps.db, apps.map(listingRef), false);
    const versions = await this.versionEntries(codes.filter((c): c is readonly [StoreApp, number] => c[1] !== null));
    const items: string[] = [];
    for (const [app, code] of codes) {
      const rows = listings.get(app.packageId);
      if (!rows) continue;
      const locale = chooseLocale(languages, app.locales);
      const text = (locale && rows.translations.find((t) => t.locale === locale)) || rows.app;
      const version = code === null ? undefined : versions.get(versionKey(app, code))?.row;
      items.push(
        JSON.stringify({
          package_id: app.packageId,
          name: text.name,
          summary: text.summary,
          category: app.category,
          locale,
          icon_url: rows.icon === null ? null : this.mediaUrl(rows.icon),
          downloads: app.downloads,
          published_at: iso(app.firstPublished),
          updated_at: iso(app.lastPublished),
          version: version?.version ?? null,
          version_code: version?.version_code ?? null,
          size: version?.size ?? null,
          sha256: version?.sha256 ?? null,
          author_name: version?.author_name ?? null,
        }),
      );
    }
    return items;
  }

  private async listing(app: StoreApp, locale: string | null): Promise<ListingEntry | null> {
    const key = `${app.packageId}\n${locale ?? ''}\n${app.rev}\n${app.downloads}`;
    const cached = this.listings.get(key);
    if (cached) return cached;
    const rows = (await repo.listingsOf(this.deps.db, [listingRef(app)], true)).get(app.packageId);
    if (!rows) return null;
    const text = (locale && rows.translations.find((t) => t.locale === locale)) || rows.app;
    const json = JSON.stringify({
      package_id: app.packageId,
      name: text.name,
      summary: text.summary,
      description: text.description,
      category: app.category,
      locale,
      locales: rows.translations.map((t) => t.locale),
      icon_url: rows.icon === null ? null : this.mediaUrl(rows.icon),
      screenshots: rows.screenshots.map((s) => ({ url: this.mediaUrl(s.sha256), width: s.width, height: s.height })),
      downloads: app.downloads,
      published_at: iso(app.firstPublished),
      updated_at: iso(app.lastPublished),
    });
    const head = json.slice(0, -1);
    const entry = { head, etag: etagOf(json), bytes: head.length + 200 };
    this.listings.set(key, entry);
    return entry;
  }

  /** Serialized versions by versionKey, from the cache or, for the ones it lacks, one query. */
  private async versionEntries(wanted: readonly (readonly [StoreApp, number])[]): Promise<Map<string, VersionEntry>> {
    const found = new Map<string, VersionEntry>();
    const missing: (readonly [StoreApp, number])[] = [];
    for (const pair of wanted) {
      const key = versionKey(pair[0], pair[1]);
      const entry = this.versions.get(key);
      if (entry) found.set(key, entry);
      else missing.push(pair);
    }
    if (missing.length === 0) return found;
    const need = new Map(wanted.map(([app, code]) => [`${app.packageId}\n${code}`, versionKey(app, code)]));
    // A long update check with a cold cache reads in slices, with a turn of the event loop between.
    const rows: repo.StoreVersionRow[] = [];
    for (let i = 0; i < missing.length; i += VERSION_SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      rows.push(...(await repo.publishedVersions(this.deps.db, missing.slice(i, i + VERSION_SLICE))));
    }
    for (const row of rows) {
      const key = need.get(`${row.package_id}\n${row.version_code}`);
      if (key === undefined || found.has(key)) continue;
      const json = JSON.stringify({
        package_id: row.package_id,
        version: row.version,
        version_code: row.version_code,
        channel: row.channel,
        size: row.size,
        sha256: row.sha256,
        min_mosis_version: row.min_mosis_version,
        permissions: JSON.parse(row.permissions) as unknown,
        release_notes: row.release_notes,
        published_at: row.published_at,
        download_url: `${this.deps.baseUrl}/v1/store/packages/${row.package_id}/${row.version_code}.mosis`,
        store_signature: row.store_signature,
        store_key_id: row.store_key_id,
        author: row.author_name === null ? null : { name: row.author_name, url: row.author_url },
      });
      const entry = { json, row, bytes: json.length + 400 };
      this.versions.set(key, entry);
      found.set(key, entry);
    }
    return found;
  }

  private mediaUrl(sha256: string): string {
    return `${this.deps.baseUrl}/v1/media/${sha256}`;
  }

  private day(offset: number): string {
    return new Date(this.deps.clock.now().getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  }

  /** For metrics and the benchmark: what the model and its caches hold. */
  stats(): Record<string, unknown> {
    return { ...this.model.stats(), pages: this.pages.size, listings: this.listings.size, versions: this.versions.size, searches: this.searches.size };
  }
}

/** How the listing queries address an app: by id, and whether it has translations to read. */
function listingRef(app: StoreApp): repo.AppRef & { translated: boolean } {
  return { appId: app.appId, packageId: app.packageId, translated: app.locales !== undefined };
}

/**
 * A version body's cache key: the app's revision is part of it, so anything that changes the app
 * (release notes edited, a yank, a rollout) makes its versions be read again.
 */
function versionKey(app: StoreApp, code: number): string {
  return `${app.packageId}\n${code}\n${app.rev}`;
}

function encodeCursorValue(value: unknown[]): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeCursorValue(cursor: string): unknown {
  if (cursor.length > 512) throw commonError('invalid_cursor');
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw commonError('invalid_cursor');
  }
}

function decodeOffset(cursor: string): number {
  const value = decodeCursorValue(cursor);
  if (Array.isArray(value) && value.length === 1 && Number.isSafeInteger(value[0]) && (value[0] as number) >= 0 && (value[0] as number) <= repo.MAX_SEARCH_MATCHES) return value[0] as number;
  throw commonError('invalid_cursor');
}

function decodeVersionCursor(cursor: string): number {
  const value = decodeCursorValue(cursor);
  if (Array.isArray(value) && value.length === 1 && Number.isSafeInteger(value[0]) && (value[0] as number) >= 0 && (value[0] as number) <= 2_147_483_647) return value[0] as number;
  throw commonError('invalid_cursor');
}

function decodePosition(cursor: string, sort: StoreSort): SortPosition {
  const value = decodeCursorValue(cursor);
  if (Array.isArray(value) && value.length === 2 && typeof value[1] === 'string' && value[1].length <= 255) {
    const [sortKey, packageId] = value as [unknown, string];
    if (sort === 'name' ? typeof sortKey === 'string' && sortKey.length <= 1000 : Number.isSafeInteger(sortKey)) return { value: sortKey as number | string, packageId };
  }
  throw commonError('invalid_cursor');
}

