import { mayGet, platformRank, rolloutBasisPoints, type DeviceProfile } from './rollout.js';
import type { IndexedAppRow, IndexedApps, IndexedVersionRow } from './store.repository.js';

/** The catalog orders a device can ask for. */
export const STORE_SORTS = ['popular', 'new', 'updated', 'name'] as const;
export type StoreSort = (typeof STORE_SORTS)[number];

/**
 * A published app as the read model keeps it: only what ordering, filtering and choosing a version
 * need. Names for display, descriptions and images live in the database and the bounded caches.
 */
export interface StoreApp {
  readonly packageId: string;
  readonly appId: string;
  /** Lower-cased default name: the `name` order. */
  readonly nameKey: string;
  readonly category: string | null;
  /** Translations' locales (canonical tags); absent when there are none, as for most apps. */
  readonly locales: readonly string[] | undefined;
  /** Seconds since the epoch of the first and the latest publication. */
  readonly firstPublished: number;
  readonly lastPublished: number;
  /** Downloads in the last 30 days; refreshed in place by setDownloads (which re-sorts "popular"). */
  downloads: number;
  /** Changes whenever anything about the app changes: cached details are keyed by it. */
  readonly rev: number;
  /** Its published versions in VersionColumns, newest first (set once they are read: `loaded`). */
  start: number;
  count: number;
  /**
   * Whether its versions are in the columns. A cold build orders the catalog first and reads the
   * versions after; until then an app is unloaded, and whoever needs its versions reads them (StoreService.lookup).
   */
  loaded: boolean;
}

const BETA = 1;
const HALTED = 2;
const FULL = 4;

/**
 * Published versions of every app as columns of typed arrays, 19 bytes a version: at 500 000
 * versions under 10 MiB, where an object per version would take several times that. An app's
 * versions are one run, newest first; a patch appends a new run and leaves the old one as waste,
 * reclaimed by compaction once it is half of the columns.
 */
class VersionColumns {
  code = new Int32Array(1024);
  minPlatform = new Float64Array(1024);
  basisPoints = new Uint16Array(1024);
  flags = new Uint8Array(1024);
  length = 0;
  wasted = 0;

  append(versions: readonly { code: number; minPlatform: number; basisPoints: number; flags: number }[]): number {
    this.reserve(this.length + versions.length);
    const start = this.length;
    for (const v of versions) {
      this.code[this.length] = v.code;
      this.minPlatform[this.length] = v.minPlatform;
      this.basisPoints[this.length] = v.basisPoints;
      this.flags[this.length] = v.flags;
      this.length += 1;
    }
    return start;
  }

  /** Rewrites the columns with only the runs of these apps, moving each app's start. */
  compact(apps: Iterable<StoreApp>): void {
    const old = { code: this.code, minPlatform: this.minPlatform, basisPoints: this.basisPoints, flags: this.flags };
    const live = this.length - this.wasted;
    const capacity = Math.max(1024, Math.ceil(live * 1.25));
    this.code = new Int32Array(capacity);
    this.minPlatform = new Float64Array(capacity);
    this.basisPoints = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.length = 0;
    for (const app of apps) {
      const start = this.length;
      for (let i = app.start; i < app.start + app.count; i += 1) {
        this.code[this.length] = old.code[i] ?? 0;
        this.minPlatform[this.length] = old.minPlatform[i] ?? 0;
        this.basisPoints[this.length] = old.basisPoints[i] ?? 0;
        this.flags[this.length] = old.flags[i] ?? 0;
        this.length += 1;
      }
      app.start = start;
    }
    this.wasted = 0;
  }

  bytes(): number {
    return this.code.byteLength + this.minPlatform.byteLength + this.basisPoints.byteLength + this.flags.byteLength;
  }

  private reserve(size: number): void {
    if (size <= this.code.length) return;
    const capacity = Math.max(size, this.code.length * 2);
    const grow = <T extends Int32Array | Float64Array | Uint16Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.code = grow(this.code, (n) => new Int32Array(n));
    this.minPlatform = grow(this.minPlatform, (n) => new Float64Array(n));
    this.basisPoints = grow(this.basisPoints, (n) => new Uint16Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
  }
}

const compareKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Each order ends on the package id, so every app has one exact place and a cursor one exact position. */
export const COMPARATORS: Record<StoreSort, (a: StoreApp, b: StoreApp) => number> = {
  popular: (a, b) => b.downloads - a.downloads || compareKey(a.packageId, b.packageId),
  new: (a, b) => b.firstPublished - a.firstPublished || compareKey(a.packageId, b.packageId),
  updated: (a, b) => b.lastPublished - a.lastPublished || compareKey(a.packageId, b.packageId),
  name: (a, b) => compareKey(a.nameKey, b.nameKey) || compareKey(a.packageId, b.packageId),
};

/** Where a cursor points: the sort value and package id of the last item a page showed. */
export type SortPosition = { value: number | string; packageId: string };

export function sortValue(app: StoreApp, sort: StoreSort): number | string {
  switch (sort) {
    case 'popular':
      return app.downloads;
    case 'new':
      return app.firstPublished;
    case 'updated':
      return app.lastPublished;
    case 'name':
      return app.nameKey;
  }
}

/** A probe with the sort value of a cursor, to binary-search an order with its comparator. */
function probe(sort: StoreSort, position: SortPosition): StoreApp {
  const { value, packageId } = position;
  const num = typeof value === 'number' ? value : 0;
  const str = typeof value === 'string' ? value : '';
  return { packageId, appId: '', nameKey: str, category: null, locales: undefined, firstPublished: num, lastPublished: num, downloads: num, rev: 0, start: 0, count: 0, loaded: true } satisfies StoreApp;
}

/** First index whose app sorts after `target` (or at it, with `inclusive`). */
function lowerBound(order: readonly StoreApp[], target: StoreApp, compare: (a: StoreApp, b: StoreApp) => number): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(order[mid] as StoreApp, target) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let revisions = 0;

/**
 * The read model of the store: every published app with the compact facts of its published
 * versions, in each catalog order. Built from the database in chunks, then patched app by app from
 * the event log; nothing here queries.
 */
export class StoreModel {
  private readonly apps = new Map<string, StoreApp>();
  private readonly columns = new VersionColumns();
  private orders: Record<StoreSort, StoreApp[]> | null = null;
  private whole = false;

  get size(): number {
    return this.apps.size;
  }

  /** True once every order exists (after finishBuild): catalog pages can be served. */
  get ordered(): boolean {
    return this.orders !== null;
  }

  /** True once every app's versions are in too (after finishVersions): nothing is looked up any more. */
  get complete(): boolean {
    return this.whole;
  }

  /** Forgets everything (a build that failed midway starts over). */
  clear(): void {
    this.apps.clear();
    this.columns.length = 0;
    this.columns.wasted = 0;
    this.orders = null;
    this.whole = false;
  }

  get(packageId: string): StoreApp | undefined {
    return this.apps.get(packageId);
  }

  values(): IterableIterator<StoreApp> {
    return this.apps.values();
  }

  /**
   * Adds apps a request looked up before the build was complete: an app the build has not reached
   * is added whole, one it ordered gets its versions; one already loaded (looked up or patched
   * before) is left as it is, having been read at least as late as these rows.
   */
  addLooked(rows: IndexedApps): void {
    for (const found of byApp(rows)) {
      const existing = this.apps.get(found.row.package_id);
      if (existing) {
        this.loadVersions(existing, found.versions);
        continue;
      }
      const app = toStoreApp(found.row, found.versions, found.locales, found.downloads, this.columns);
      this.apps.set(app.packageId, app);
      if (this.orders) for (const sort of STORE_SORTS) insertSorted(this.orders[sort], app, COMPARATORS[sort]);
    }
  }

  /**
   * Adds one app of a cold build without its versions (they come with loadVersions), unless it is
   * present already (looked up on demand meanwhile). Publication times are the app's own span.
   */
  addScanned(row: IndexedAppRow, span: { first: number; last: number }, locales: string[] | undefined, downloads: number): void {
    if (this.apps.has(row.package_id)) return;
    revisions += 1;
    this.apps.set(row.package_id, {
      packageId: row.package_id,
      appId: row.id,
      nameKey: row.name.toLowerCase(),
      category: row.category,
      locales,
      firstPublished: span.first,
      lastPublished: span.last,
      downloads,
      rev: revisions,
      start: 0,
      count: 0,
      loaded: false,
    });
  }

  /** Puts an ordered app's versions (published and yanked) in, unless it has them already. */
  loadVersions(app: StoreApp, versions: readonly CompactVersion[]): void {
    if (app.loaded) return;
    const published = versions.filter((v) => v.published).sort((a, b) => b.code - a.code);
    app.start = this.columns.append(published);
    app.count = published.length;
    app.loaded = true;
  }

  /** Marks the build complete: every app present has its versions. */
  finishVersions(): void {
    for (const app of this.apps.values()) if (!app.loaded) this.loadVersions(app, []);
    this.whole = true;
  }

  /** Sorts every order once the whole catalog is in, one order per turn of the event loop. */
  async finishBuild(nextTurn: () => Promise<unknown>): Promise<void> {
    const all = [...this.apps.values()];
    const orders = {} as Record<StoreSort, StoreApp[]>;
    for (const sort of STORE_SORTS) {
      orders[sort] = [...all].sort(COMPARATORS[sort]);
      await nextTurn();
    }
    // Apps added on demand while the orders were sorted are placed now, in the same turn the orders appear.
    const sorted = new Set(all);
    for (const app of this.apps.values()) if (!sorted.has(app)) for (const sort of STORE_SORTS) insertSorted(orders[sort], app, COMPARATORS[sort]);
    this.orders = orders;
  }

  /**
   * Replaces what the model holds of these apps with what the database says now: `rows` are the
   * ones still published; `gone` are apps that left the store and are removed.
   */
  patch(rows: IndexedApps, gone: Iterable<StoreApp>): void {
    for (const old of gone) this.remove(old);
    for (const found of byApp(rows)) {
      const app = toStoreApp(found.row, found.versions, found.locales, found.downloads, this.columns);
      const old = this.apps.get(app.packageId);
      if (old) this.remove(old);
      this.apps.set(app.packageId, app);
      if (this.orders) for (const sort of STORE_SORTS) insertSorted(this.orders[sort], app, COMPARATORS[sort]);
    }
    if (this.columns.wasted > 50_000 && this.columns.wasted * 2 > this.columns.length) this.columns.compact(this.apps.values());
  }

  /** Finds an app by its app id (patches are addressed by app id); a scan, off the request path. */
  byAppId(appId: string): StoreApp | undefined {
    for (const app of this.apps.values()) if (app.appId === appId) return app;
    return undefined;
  }

  /** New download counts by app id (an app without an entry has none), then "popular" re-sorted; answers whether any changed. */
  setDownloads(downloads: ReadonlyMap<string, number>): boolean {
    let changed = false;
    for (const app of this.apps.values()) {
      const count = downloads.get(app.appId) ?? 0;
      if (app.downloads !== count) {
        app.downloads = count;
        changed = true;
      }
    }
    if (changed) this.orders?.popular.sort(COMPARATORS.popular);
    return changed;
  }

  /**
   * Up to `limit` apps of an order after a position, filtered by category, and whether more follow.
   * A rare category walks the order until it has a page (a cache fill, never a request's hot path).
   */
  page(sort: StoreSort, category: string | null, after: SortPosition | null, limit: number): { apps: StoreApp[]; more: boolean } {
    const order = this.orders?.[sort] ?? [];
    const compare = COMPARATORS[sort];
    let i = 0;
    if (after) {
      const target = probe(sort, after);
      i = lowerBound(order, target, compare);
      if (i < order.length && compare(order[i] as StoreApp, target) === 0) i += 1;
    }
    const apps: StoreApp[] = [];
    for (; i < order.length; i += 1) {
      const app = order[i] as StoreApp;
      if (category !== null && app.category !== category) continue;
      if (apps.length === limit) return { apps, more: true };
      apps.push(app);
    }
    return { apps, more: false };
  }

  /** Published apps per category (apps without one are not counted), by category name. */
  categories(): { category: string; apps: number }[] {
    const counts = new Map<string, number>();
    for (const app of this.apps.values()) if (app.category !== null) counts.set(app.category, (counts.get(app.category) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => compareKey(a, b)).map(([category, apps]) => ({ category, apps }));
  }

  /** The newest version this device may get, as its version code; null when there is none. */
  chooseVersion(app: StoreApp, device: DeviceProfile): number | null {
    const c = this.columns;
    for (let i = app.start; i < app.start + app.count; i += 1) {
      const flags = c.flags[i] ?? 0;
      const candidate = { versionCode: c.code[i] ?? 0, beta: (flags & BETA) !== 0, halted: (flags & HALTED) !== 0, basisPoints: c.basisPoints[i] ?? 0, minPlatform: c.minPlatform[i] ?? 0 };
      if (mayGet(candidate, device, app.packageId)) return candidate.versionCode;
    }
    return null;
  }

  /** The newest stable version every device on a recent enough platform gets: what a catalog item shows. */
  fullRelease(app: StoreApp): number | null {
    const c = this.columns;
    for (let i = app.start; i < app.start + app.count; i += 1) {
      const flags = c.flags[i] ?? 0;
      if ((flags & (BETA | HALTED)) === 0 && (flags & FULL) !== 0) return c.code[i] ?? null;
    }
    return null;
  }

  /** The app's published (not yanked) version codes, newest first: every channel, rollout and platform. */
  publishedCodes(app: StoreApp): number[] {
    const codes: number[] = [];
    for (let i = app.start; i < app.start + app.count; i += 1) codes.push(this.columns.code[i] ?? 0);
    return codes;
  }

  /** Whether this code is one of the app's published (not yanked) versions. */
  hasVersion(app: StoreApp, versionCode: number): boolean {
    for (let i = app.start; i < app.start + app.count; i += 1) if (this.columns.code[i] === versionCode) return true;
    return false;
  }

  /** Bytes held by the version columns (the rest of the model is measured by the benchmark). */
  stats(): { apps: number; versions: number; columnBytes: number } {
    return { apps: this.apps.size, versions: this.columns.length - this.columns.wasted, columnBytes: this.columns.bytes() };
  }

  private remove(app: StoreApp): void {
    if (this.apps.get(app.packageId) === app) this.apps.delete(app.packageId);
    this.columns.wasted += app.count;
    if (!this.orders) return;
    for (const sort of STORE_SORTS) {
      const order = this.orders[sort];
      const i = lowerBound(order, app, COMPARATORS[sort]);
      if (order[i] === app) order.splice(i, 1);
    }
  }
}

function insertSorted(order: StoreApp[], app: StoreApp, compare: (a: StoreApp, b: StoreApp) => number): void {
  order.splice(lowerBound(order, app, compare), 0, app);
}

/** An ISO timestamp as whole seconds since the epoch (0: none). */
export const epochSeconds = (iso: string | null): number => (iso === null ? 0 : Math.floor(Date.parse(iso) / 1000));

/** What the model takes of one published or yanked version (yanked ones only date the app). */
export interface CompactVersion {
  code: number;
  published: boolean;
  /** Seconds since the epoch of its publication (0: none). */
  at: number;
  basisPoints: number;
  flags: number;
  minPlatform: number;
}

export function compactVersion(v: IndexedVersionRow): CompactVersion {
  const basisPoints = rolloutBasisPoints(v.rollout_percent ?? 100);
  return {
    code: v.version_code,
    published: v.status === 'published',
    at: epochSeconds(v.published_at),
    basisPoints,
    flags: (v.channel === 'beta' ? BETA : 0) | (v.halted_at === null ? 0 : HALTED) | (basisPoints >= 10_000 ? FULL : 0),
    minPlatform: v.min_mosis_version === null ? 0 : (platformRank(v.min_mosis_version) ?? 0),
  };
}

/** One app as the model keeps it, its published versions appended to the columns newest first. */
function toStoreApp(row: IndexedAppRow, versions: readonly CompactVersion[], locales: string[] | undefined, downloads: number, columns: VersionColumns): StoreApp {
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const v of versions) {
    if (v.at > 0) {
      first = Math.min(first, v.at);
      last = Math.max(last, v.at);
    }
  }
  const published = versions.filter((v) => v.published).sort((a, b) => b.code - a.code);
  revisions += 1;
  return {
    packageId: row.package_id,
    appId: row.id,
    nameKey: row.name.toLowerCase(),
    category: row.category,
    locales,
    firstPublished: Number.isFinite(first) ? first : 0,
    lastPublished: last,
    downloads,
    rev: revisions,
    start: columns.append(published),
    count: published.length,
    loaded: true,
  };
}

/** Rows of the database grouped by app. */
function byApp(rows: IndexedApps): { row: IndexedAppRow; versions: CompactVersion[]; locales: string[] | undefined; downloads: number }[] {
  const versionsByApp = new Map<string, CompactVersion[]>();
  for (const v of rows.versions) {
    const list = versionsByApp.get(v.app_id);
    if (list) list.push(compactVersion(v));
    else versionsByApp.set(v.app_id, [compactVersion(v)]);
  }
  const localesByApp = new Map<string, string[]>();
  for (const l of rows.locales) {
    const list = localesByApp.get(l.app_id);
    if (list) list.push(l.locale);
    else localesByApp.set(l.app_id, [l.locale]);
  }
  return rows.apps.map((row) => ({ row, versions: versionsByApp.get(row.id) ?? [], locales: localesByApp.get(row.id), downloads: rows.downloads.get(row.id) ?? 0 }));
}
