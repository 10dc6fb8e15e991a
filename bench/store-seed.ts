/**
 * Seeds a migrated DATA_DIR with a store catalog straight through better-sqlite3 (one transaction,
 * prepared statements), and the Go peer's database with the same number of apps. Only the
 * portal's ordinary tables are written; whatever the migrations hang off them (the search index's
 * triggers) fills itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { MiB } from './support.js';

export const CATEGORIES = ['games', 'tools', 'productivity', 'education', 'music', 'photo', 'social', 'travel', 'health', 'finance', 'news', 'weather'];
export const VERSIONS_PER_APP = 5;
/** The device's platform version in every request: newest versions needing 2.0.0 are not offered to it. */
export const DEVICE_VERSION = '1.4.0';

const ADJECTIVES = ['swift', 'quiet', 'bright', 'tiny', 'clever', 'simple', 'lucky', 'brave', 'calm', 'daily', 'easy', 'fancy', 'golden', 'happy', 'instant', 'jolly', 'kind', 'lively', 'modern', 'neat', 'open', 'prime', 'rapid', 'smart', 'true', 'urban', 'vivid', 'wild', 'young', 'zen'];
const NOUNS = ['notes', 'calculator', 'weather', 'chess', 'tasks', 'camera', 'journal', 'radio', 'maps', 'budget', 'recipes', 'timer', 'reader', 'puzzle', 'player', 'tracker', 'scanner', 'planner', 'gallery', 'compass', 'clock', 'translator', 'dictionary', 'solitaire', 'sudoku', 'workout', 'podcasts', 'wallet', 'sketch', 'garden'];
const PURPOSES = ['your everyday life', 'busy families', 'students and teachers', 'the road', 'small screens', 'quick decisions', 'long evenings', 'people on the move', 'focused work', 'the whole household'];
const SENTENCES = [
  'Works offline and keeps everything on the device.',
  'A clean interface that stays out of your way.',
  'Supports dark mode and large text.',
  'No ads, no tracking, no account needed.',
  'Syncs nothing anywhere unless you ask it to.',
  'Built for the Mosis platform from the ground up.',
  'Start in a second, finish in a minute.',
  'Every feature is one tap away.',
  'Localized in twelve languages.',
  'Battery friendly: it does nothing in the background.',
];

/** Deterministic, so every run seeds the same catalog. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
export const packageIdOf = (i: number) => `com.bench.app${String(i).padStart(5, '0')}`;

/** Apps whose newest stable version rolls out to 10–50 % (halted for a tenth of them). */
export const isStaged = (i: number) => i % 10 === 7;
/** Apps whose newest version needs a newer platform than DEVICE_VERSION. */
export const needsNewerPlatform = (i: number) => i % 20 === 3;

export interface SeededStore {
  apps: number;
  versions: number;
  downloadRows: number;
  seconds: number;
  dbMiB: number;
  /** The version that points at the real package file. */
  download: { packageId: string; versionCode: number; sha256: string; size: number };
  /** 50 installed apps for the update check, `expectedUpdates` of them one version behind. */
  installed: { package_id: string; version_code: number }[];
  expectedUpdates: number;
}

/** Writes `mib` MiB of random bytes into the blob store as fs-blob-store lays it out (`sha256/ab/cd/<hash>`). */
async function writePackageBlob(packagesDir: string, mib: number): Promise<{ sha256: string; size: number }> {
  const staging = path.join(packagesDir, '.staging');
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const tmp = path.join(staging, `bench-${process.pid}.part`);
  const hash = createHash('sha256');
  const file = await open(tmp, 'w', 0o600);
  for (let i = 0; i < mib; i += 1) {
    const chunk = randomBytes(MiB);
    hash.update(chunk);
    await file.write(chunk);
  }
  await file.close();
  const sha256 = hash.digest('hex');
  const dir = path.join(packagesDir, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await rename(tmp, path.join(dir, sha256));
  await chmod(path.join(dir, sha256), 0o600);
  return { sha256, size: mib * MiB };
}

export async function seedStore(dataDir: string, opts: { apps: number; packageMiB: number }): Promise<SeededStore & { packageFile: string }> {
  const started = process.hrtime.bigint();
  const blob = await writePackageBlob(path.join(dataDir, 'packages'), opts.packageMiB);
  const packageFile = path.join(dataDir, 'packages', 'sha256', blob.sha256.slice(0, 2), blob.sha256.slice(2, 4), blob.sha256);
  const db = new SQLite(path.join(dataDir, 'portal.db'));
  // A fixture, rebuilt on every run: written once, without a journal, and handed to the portal in
  // WAL mode as it would find its own database.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  db.pragma('foreign_keys = ON');

  const random = prng(12);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  // The catalog's history: apps created over the last two years, versions every two to three weeks.
  const now = Date.now();
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const storeKeyId = createHash('sha256').update('bench store key').digest('hex');
  const ownerId = uuidv7();
  const downloadApp = 42;
  const installed: SeededStore['installed'] = [];
  let versions = 0;
  let downloadRows = 0;

  const insertUser = db.prepare(`insert into users (id, email, name, password_hash, role, status, email_verified_at, created_at, updated_at)
    values (?, 'owner@bench.example', 'Bench Owner', null, 'developer', 'active', ?, ?, ?)`);
  const insertApp = db.prepare(`insert into apps (id, owner_id, package_id, name, summary, description, category, status, created_at, updated_at)
    values (?, ?, ?, ?, ?, ?, ?, 'published', ?, ?)`);
  const insertVersion = db.prepare(`insert into versions (id, app_id, version, version_code, status, sha256, size, permissions, manifest, checks,
      release_notes, channel, rollout_percent, created_at, published_at, files, checked_at, review_decision, decided_at,
      store_signature, store_key_id, halted_at, halt_reason, superseded_at)
    values (?, ?, ?, ?, 'published', ?, ?, '[]', ?, '[]', ?, 'stable', ?, ?, ?, null, ?, 'approve', ?, ?, ?, ?, ?, ?)`);
  const hasDownloads = db.prepare(`select 1 from sqlite_master where type = 'table' and name = 'store_downloads'`).get() !== undefined;
  const insertDownloads = hasDownloads ? db.prepare(`insert into store_downloads (app_id, day, version_code, downloads) values (?, ?, ?, ?)`) : null;

  db.transaction(() => {
    insertUser.run(ownerId, iso(now - 800 * day), iso(now - 800 * day), iso(now - 800 * day));
    for (let i = 0; i < opts.apps; i += 1) {
      const appId = uuidv7();
      const packageId = packageIdOf(i);
      const noun = pick(NOUNS);
      const name = `${cap(pick(ADJECTIVES))} ${cap(noun)}${random() < 0.3 ? ` ${cap(pick(ADJECTIVES))}` : ''}`;
      const summary = `A ${pick(ADJECTIVES)} ${noun} app for ${pick(PURPOSES)}.`;
      const description = [0, 1, 2, 3].map(() => pick(SENTENCES)).join(' ') + ` ${name} is made by Bench Owner.`;
      const createdAt = now - 730 * day + Math.floor(random() * 500 * day);
      const newestAt = createdAt + Math.floor(random() * (now - createdAt - day));
      const step = (newestAt - createdAt) / VERSIONS_PER_APP;
      insertApp.run(appId, ownerId, packageId, name, summary, description, pick(CATEGORIES), iso(createdAt), iso(newestAt));
      for (let k = 0; k < VERSIONS_PER_APP; k += 1) {
        const code = k + 1;
        const newest = code === VERSIONS_PER_APP;
        const version = `1.${k}.0`;
        const publishedAt = iso(createdAt + Math.floor(step * (k + 1)));
        const supersededAt = newest ? null : iso(createdAt + Math.floor(step * (k + 2)));
        const minPlatform = newest && needsNewerPlatform(i) ? '2.0.0' : '1.0.0';
        const rollout = newest && isStaged(i) ? 10 + 10 * (Math.floor(i / 10) % 5) : 100;
        const halted = newest && isStaged(i) && i % 100 === 17;
        const isDownload = i === downloadApp && newest;
        const manifest = JSON.stringify({
          id: packageId,
          name,
          version,
          version_code: code,
          entry: 'assets/main.rml',
          min_mosis_version: minPlatform,
          permissions: [],
          author: { name: 'Bench Owner', email: 'owner@bench.example' },
          icons: { '32': 'icons/icon-32.png', '64': 'icons/icon-64.png', '128': 'icons/icon-128.png' },
        });
        insertVersion.run(
          uuidv7(),
          appId,
          version,
          code,
          isDownload ? blob.sha256 : createHash('sha256').update(`${packageId}:${code}`).digest('hex'),
          isDownload ? blob.size : 100_000 + Math.floor(random() * 30 * MiB),
          manifest,
          newest ? `What is new in ${version}: faster start, fixes.` : null,
          rollout,
          publishedAt,
          publishedAt,
          publishedAt,
          publishedAt,
          createHash('sha512').update(`signature:${packageId}:${code}`).digest('base64'),
          storeKeyId,
          halted ? publishedAt : null,
          halted ? 'crash guard' : null,
          supersededAt,
        );
        versions += 1;
      }
      // Popularity with a long tail: a few apps with many downloads over the last days, most with few.
      if (insertDownloads) {
        const days = 1 + Math.floor(random() * 3);
        for (let d = 0; d < days; d += 1) {
          insertDownloads.run(appId, iso(now - (d + 1) * day).slice(0, 10), VERSIONS_PER_APP, Math.floor(1 / (random() + 0.0005)));
          downloadRows += 1;
        }
      }
      // 50 installed apps that are plain (100 %, any platform): every twentieth is one version behind.
      if (i > 0 && i % 1000 === 0 && installed.length < 50 && !isStaged(i) && !needsNewerPlatform(i)) {
        installed.push({ package_id: packageId, version_code: installed.length % 5 === 0 ? VERSIONS_PER_APP - 1 : VERSIONS_PER_APP });
      }
    }
  })();
  db.pragma('journal_mode = WAL');
  const pages = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  return {
    apps: opts.apps,
    versions,
    downloadRows,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    dbMiB: (pages * pageSize) / MiB,
    download: { packageId: packageIdOf(downloadApp), versionCode: VERSIONS_PER_APP, ...blob },
    installed,
    expectedUpdates: installed.filter((a) => a.version_code < VERSIONS_PER_APP).length,
    packageFile,
  };
}

/**
 * The Go peer seeds 10 000 apps itself and skips seeding when its table holds enough rows: the
 * same table, filled here with as many apps as the portal's catalog, makes the comparison like for like.
 */
export function seedPeer(file: string, apps: number): void {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.exec(`create table if not exists apps(id integer primary key, package_id text unique, name text, summary text, category text, version text, version_code int, sha256 text, size int)`);
  const insert = db.prepare('insert into apps(package_id,name,summary,category,version,version_code,sha256,size) values(?,?,?,?,?,?,?,?)');
  db.transaction(() => {
    for (let i = 0; i < apps; i += 1) {
      insert.run(packageIdOf(i), `App ${i}`, 'A sample application used for benchmarking the store', CATEGORIES[i % CATEGORIES.length], '1.4.0', 5, createHash('sha256').update(packageIdOf(i)).digest('hex'), 123456);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
