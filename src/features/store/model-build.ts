import type { Db } from '../../db/index.js';
import { compactVersion, epochSeconds, type CompactVersion, type StoreModel } from './store-model.js';
import * as repo from './store.repository.js';

/** Rows per query of a full build: each query holds the event loop a few milliseconds. */
const SCAN_CHUNK = 2000;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Versions of a full build, staged in typed arrays (about 25 bytes each) until every app's are
 * in, instead of half a million row objects.
 */
class StagedVersions {
  private app = new Int32Array(4096);
  private code = new Int32Array(4096);
  private at = new Float64Array(4096);
  private minPlatform = new Float64Array(4096);
  private basisPoints = new Uint16Array(4096);
  private flags = new Uint8Array(4096);
  private published = new Uint8Array(4096);
  private length = 0;
  /** Rows of app i are order[offsets[i] .. offsets[i + 1]) after finish(). */
  private order = new Int32Array(0);
  private offsets = new Int32Array(0);

  push(app: number, v: CompactVersion): void {
    if (this.length === this.app.length) this.grow();
    const i = this.length;
    this.app[i] = app;
    this.code[i] = v.code;
    this.at[i] = v.at;
    this.minPlatform[i] = v.minPlatform;
    this.basisPoints[i] = v.basisPoints;
    this.flags[i] = v.flags;
    this.published[i] = v.published ? 1 : 0;
    this.length += 1;
  }

  /** Groups the rows by app (a counting sort). */
  finish(apps: number): void {
    const offsets = new Int32Array(apps + 1);
    for (let i = 0; i < this.length; i += 1) {
      const slot = (this.app[i] as number) + 1;
      offsets[slot] = (offsets[slot] as number) + 1;
    }
    for (let a = 0; a < apps; a += 1) offsets[a + 1] = (offsets[a + 1] as number) + (offsets[a] as number);
    const fill = offsets.slice(0, apps);
    const order = new Int32Array(this.length);
    for (let i = 0; i < this.length; i += 1) {
      const a = this.app[i] as number;
      order[fill[a] as number] = i;
      fill[a] = (fill[a] as number) + 1;
    }
    this.order = order;
    this.offsets = offsets;
  }

  of(app: number): CompactVersion[] {
    const versions: CompactVersion[] = [];
    for (let k = this.offsets[app] as number; k < (this.offsets[app + 1] as number); k += 1) {
      const i = this.order[k] as number;
      versions.push({
        code: this.code[i] as number,
        published: this.published[i] === 1,
        at: this.at[i] as number,
        basisPoints: this.basisPoints[i] as number,
        flags: this.flags[i] as number,
        minPlatform: this.minPlatform[i] as number,
      });
    }
    return versions;
  }

  private grow(): void {
    const double = <T extends Int32Array | Float64Array | Uint16Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(old.length * 2);
      next.set(old);
      return next;
    };
    this.app = double(this.app, (n) => new Int32Array(n));
    this.code = double(this.code, (n) => new Int32Array(n));
    this.at = double(this.at, (n) => new Float64Array(n));
    this.minPlatform = double(this.minPlatform, (n) => new Float64Array(n));
    this.basisPoints = double(this.basisPoints, (n) => new Uint16Array(n));
    this.flags = double(this.flags, (n) => new Uint8Array(n));
    this.published = double(this.published, (n) => new Uint8Array(n));
  }
}

/**
 * Builds the model from the whole catalog in two steps, each table read in its key order a chunk
 * at a time with a turn of the event loop between chunks, so requests are served throughout:
 * 1. the catalog: published apps with when each was first and last published (an index alone),
 *    their translations' locales and download counts, sorted into every order; `ordered` is called
 *    and catalog pages are served from here on;
 * 2. every version (the bulk: 500 000 rows at the seed's size), put into the apps' columns.
 * Meanwhile a request that needs an app's versions reads that app itself (StoreService.lookup).
 * Answers false when stopped midway.
 */
export async function buildModel(model: StoreModel, db: Db, downloadsSince: string, stopped: () => boolean, ordered: () => void): Promise<boolean> {
  const apps: repo.IndexedAppRow[] = [];
  const indexOf = new Map<string, number>();
  const spans = new Map<string, { first: number; last: number }>();
  for (let after = ''; ; ) {
    if (stopped()) return false;
    const rows = await repo.publishedAppsAfter(db, after, SCAN_CHUNK);
    for (const row of rows) {
      indexOf.set(row.id, apps.length);
      apps.push(row);
    }
    for (const [appId, span] of await repo.publicationSpans(db, rows.map((r) => r.id))) spans.set(appId, { first: epochSeconds(span.first), last: epochSeconds(span.last) });
    const last = rows.at(-1);
    if (!last || rows.length < SCAN_CHUNK) break;
    after = last.id;
    await nextTurn();
  }

  const locales = new Map<string, string[]>();
  for (let after = { appId: '', locale: '' }; ; ) {
    if (stopped()) return false;
    const rows = await repo.localesAfter(db, after, SCAN_CHUNK);
    for (const row of rows) {
      if (!indexOf.has(row.app_id)) continue;
      const list = locales.get(row.app_id);
      if (list) list.push(row.locale);
      else locales.set(row.app_id, [row.locale]);
    }
    const last = rows.at(-1);
    if (!last || rows.length < SCAN_CHUNK) break;
    after = { appId: last.app_id, locale: last.locale };
    await nextTurn();
  }

  const downloads = new Map<string, number>();
  for (let after = ''; ; ) {
    if (stopped()) return false;
    const rows = await repo.downloadsAfter(db, after, downloadsSince, SCAN_CHUNK);
    for (const row of rows) if (indexOf.has(row.app_id)) downloads.set(row.app_id, row.downloads);
    const last = rows.at(-1);
    if (!last || rows.length < SCAN_CHUNK) break;
    after = last.app_id;
    await nextTurn();
  }

  for (const [i, row] of apps.entries()) {
    model.addScanned(row, spans.get(row.id) ?? { first: 0, last: 0 }, locales.get(row.id), downloads.get(row.id) ?? 0);
    if (i % SCAN_CHUNK === SCAN_CHUNK - 1) await nextTurn();
  }
  await model.finishBuild(nextTurn);
  ordered();

  const staged = new StagedVersions();
  for (let after = ''; ; ) {
    if (stopped()) return false;
    const rows = await repo.versionsAfter(db, after, SCAN_CHUNK);
    for (const row of rows) {
      const app = indexOf.get(row.app_id);
      if (app !== undefined && (row.status === 'published' || row.status === 'yanked')) staged.push(app, compactVersion(row));
    }
    const last = rows.at(-1);
    if (!last || rows.length < SCAN_CHUNK) break;
    after = last.id;
    await nextTurn();
  }
  staged.finish(apps.length);
  for (const [i, row] of apps.entries()) {
    const app = model.get(row.package_id);
    // An app looked up meanwhile has its versions already, read later than these.
    if (app && app.appId === row.id) model.loadVersions(app, staged.of(i));
    if (i % SCAN_CHUNK === SCAN_CHUNK - 1) await nextTurn();
  }
  model.finishVersions();
  return true;
}
