import { createHash } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { cp, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importSqlite, SnapshotRefused, type ImportReport } from '../../src/backup/index.js';
import { storedBlobPath } from '../../src/backup/files.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { migrateToLatest, openDatabase } from '../../src/db/index.js';
import { destinationBlobs } from '../../src/verbs/import-sqlite.js';
import { runJobs, TestClock } from '../support/accounts.js';
import { PASSWORD, type TestUser } from '../support/api.js';
import { prepareDatabase, startPortal, withPg, type TestPortal } from '../support/portal.js';
import { startS3Server } from '../support/s3.js';
import { storeWorld } from '../support/store.js';
import { crashInto, ev, sendAll, traceback } from '../support/telemetry.js';
import { createWebhook, ping } from '../support/webhooks.js';

const NOTES = 'com.example.notes';
const TODO = 'com.example.todo';
const DEVICE = { 'x-mosis-device': 'device-import-1' };

/** What a device and a developer see of the source portal, to be seen the same on the destination. */
interface Seen {
  catalog: unknown;
  detail: unknown;
  versions: unknown;
  download: string;
  standIn: string;
}

async function seenOn(p: TestPortal, dev: TestUser, appId: string): Promise<Seen> {
  const get = async (url: string, headers: Record<string, string> = DEVICE) => {
    const res = await p.app.inject({ method: 'GET', url, headers });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    return res;
  };
  const digest = (body: Buffer) => createHash('sha256').update(body).digest('hex');
  // Download counts reach the read model on a timer of their own; the counts table is compared row by row.
  const withoutCounts = (body: string): unknown => JSON.parse(body, (key, value: unknown) => (key === 'downloads' ? undefined : value));
  return {
    catalog: withoutCounts((await get('/v1/store/apps')).body),
    detail: withoutCounts((await get(`/v1/store/apps/${NOTES}`)).body),
    versions: (await get(`/v1/apps/${appId}/versions`, dev.auth)).json(),
    download: digest((await get(`/v1/store/packages/${NOTES}/2.mosis`)).rawPayload),
    standIn: digest((await get(`/v1/store/packages/${TODO}/1.mosis`)).rawPayload),
  };
}

function targetConfig(dataDir: string, databaseUrl: string): Config {
  return loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl });
}

async function runImport(fromDir: string, config: Config, options: { verifyOnly?: boolean } = {}): Promise<ImportReport> {
  return importSqlite(
    { dataDir: fromDir, packagesDir: path.join(fromDir, 'packages') },
    { database: config.database, dataDir: config.dataDir, blobs: await destinationBlobs(config) },
    { ...options, batchRows: 7 },
  );
}

async function countRows(url: string, table: string): Promise<number> {
  return withPg(url, async (c) => Number((await c.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]?.n));
}

const postgres = inject('postgresUrl') !== null;

describe.skipIf(!postgres)('import-sqlite: one NAS into PostgreSQL [sqlite → postgres]', () => {
  let clock: TestClock;
  let sourceDir: string;
  let dev: TestUser;
  let notesId: string;
  let seen: Seen;
  const scratch: string[] = [];

  /** A copy of the source DATA_DIR the test may damage. */
  async function sourceCopy(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mosis-import-source-'));
    scratch.push(dir);
    await cp(sourceDir, dir, { recursive: true });
    return dir;
  }

  async function freshDestination(): Promise<{ url: string; dataDir: string; config: Config }> {
    const database = await prepareDatabase('postgres');
    scratch.push(database.dataDir);
    return { url: database.databaseUrl, dataDir: database.dataDir, config: targetConfig(database.dataDir, database.databaseUrl) };
  }

  // One source portal for every test: users, apps, reviewed and published versions with real
  // packages, a stand-in blob, a webhook and its failed deliveries, telemetry events and a crash
  // group, download counts and the audit log, left as a stopped NAS leaves them.
  beforeAll(async () => {
    clock = new TestClock();
    const { portal: p } = await startPortal('sqlite', { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_ALLOW_HTTP: 'true' }, { clock });
    sourceDir = p.dataDir;
    const world = await storeWorld(p, clock);
    dev = world.dev;
    const notes = world.app;
    notesId = notes.id;
    await world.release(notes, 1);
    await world.release(notes, 2);
    const todo = await world.newApp(TODO);
    await world.releaseMany([todo]);
    const hook = await createWebhook(p, dev, notes.id, { url: 'http://127.0.0.1:9/hooks/mosis', events: ['*'] });
    await ping(p, dev, notes.id, hook.id);
    const now = clock.now().getTime();
    await sendAll(p, NOTES, { device: 'device-import-1', session: 'session-1', events: [ev('app_start', now - 2000), ev('app_stop', now - 1000, { duration_ms: 1000 })] });
    await crashInto(p, NOTES, { device: 'device-import-1', timestamp: now - 500, message: 'attempt to index a nil value', stack_trace: traceback('main.lua:12: in function <main.lua:10>') });
    await runJobs(p);
    seen = await seenOn(p, dev, notes.id);
    await p.close();
  }, 60_000);

  afterAll(async () => {
    for (const dir of [...scratch, sourceDir]) await rm(dir, { recursive: true, force: true });
  });

  it('copies blobs, key files and every table; a portal on the destination serves the same apps, versions and downloads, and the old access token and password still work', async () => {
    const destination = await freshDestination();
    const report = await runImport(sourceDir, destination.config);
    expect(report.ok, JSON.stringify(report, null, 2)).toBe(true);
    const byTable = new Map(report.tables.map((t) => [t.table, t]));
    for (const table of ['users', 'apps', 'versions', 'audit_log', 'events', 'webhooks', 'webhook_deliveries', 'store_downloads', 'telemetry_events', 'telemetry_crash_groups', 'jobs']) {
      expect(byTable.get(table)?.source_rows, table).toBeGreaterThan(0);
    }
    expect(byTable.has('store_search_docs')).toBe(false);
    expect(byTable.has('kysely_migration')).toBe(false);
    expect(report.blobs).toMatchObject({ copied: report.blobs.stored_in_source, referenced: 3, verified: 3, problems: [] });
    expect(report.key_files.copied.sort()).toEqual(['keys/access-token-keys.json', 'keys/device-ids.json', 'keys/store-keys.json', 'secrets/account-secrets.key']);
    for (const file of report.key_files.copied) expect((await stat(path.join(destination.dataDir, file))).mode & 0o777).toBe(0o600);
    // Telemetry's raw events landed in a day partition, as the writer names them.
    const partitions = await withPg(destination.url, async (c) => (await c.query<{ name: string }>("select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'telemetry_events'")).rows);
    expect(partitions.map((r) => r.name)).toEqual(['telemetry_events_20261127']);
    // Every serial and identity continues after the copied ids (the rollup follows telemetry's ids).
    const sequences = await withPg(destination.url, async (c) =>
      (await c.query<{ table: string; next: string; max: string }>(
        "select 'telemetry_events' as table, nextval(pg_get_serial_sequence('telemetry_events', 'id')) as next, (select max(id) from telemetry_events) as max union all select 'events', nextval(pg_get_serial_sequence('events', 'id')), (select max(id) from events)",
      )).rows,
    );
    for (const row of sequences) expect(Number(row.next), row.table).toBe(Number(row.max) + 1);

    const { portal: q, stop } = await startPortal('postgres', { DATABASE_URL: destination.url, DATA_DIR: destination.dataDir }, { clock: new TestClock(clock.now().getTime()) });
    try {
      expect(await seenOn(q, dev, notesId)).toEqual(seen);
      // The access token the NAS signed verifies here: the token keys came along.
      expect((await q.app.inject({ method: 'GET', url: '/v1/apps', headers: dev.auth })).statusCode).toBe(200);
      const login = await q.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } });
      expect(login.statusCode, login.body).toBe(200);
      // Identity columns continue after the copied ids: a new event gets the next one.
      const before = await countRows(destination.url, 'events');
      const renamed = await q.app.inject({ method: 'PATCH', url: `/v1/apps/${notesId}`, headers: dev.auth, payload: { summary: 'Notes, moved to PostgreSQL' } });
      expect(renamed.statusCode, renamed.body).toBe(200);
      expect(await countRows(destination.url, 'events')).toBeGreaterThan(before);
    } finally {
      await stop();
    }

    // --verify-only finds a row changed after the import, in that table alone.
    await withPg(destination.url, (c) => c.query("update webhooks set url = 'http://127.0.0.1:9/elsewhere'"));
    const verified = await runImport(sourceDir, destination.config, { verifyOnly: true });
    expect(verified.ok).toBe(false);
    expect(verified.tables.filter((t) => !t.match).map((t) => t.table)).toEqual(expect.arrayContaining(['webhooks']));
    expect(verified.tables.find((t) => t.table === 'webhooks')).toMatchObject({ source_rows: 1, destination_rows: 1, match: false });
    expect(verified.tables.find((t) => t.table === 'users')?.match).toBe(true);
  }, 60_000);

  it('copies the blobs into an S3 bucket (STORAGE_URL) and a portal on PostgreSQL and the bucket serves the same downloads', async () => {
    const s3 = await startS3Server();
    try {
      const database = await prepareDatabase('postgres');
      scratch.push(database.dataDir);
      const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, ...s3.env('moved') };
      const config = loadConfig(env);
      const blobs = await destinationBlobs(config);
      let report: ImportReport;
      try {
        report = await importSqlite({ dataDir: sourceDir, packagesDir: path.join(sourceDir, 'packages') }, { database: config.database, dataDir: config.dataDir, blobs }, {});
      } finally {
        await blobs.close?.();
      }
      expect(report.ok, JSON.stringify(report, null, 2)).toBe(true);
      expect(report.blobs).toMatchObject({ copied: report.blobs.stored_in_source, referenced: 3, verified: 3, problems: [] });
      // Every blob sits at its content address in the bucket; nothing was left in staging.
      const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'moved/' }));
      const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
      expect(keys.filter((k) => k.startsWith('moved/sha256/'))).toHaveLength(report.blobs.stored_in_source);
      expect(keys.filter((k) => !k.startsWith('moved/sha256/'))).toEqual([]);
      // PACKAGES_DIR of the new deployment got nothing: the bucket is the store.
      expect(await readdir(config.packagesDir).catch(() => [])).toEqual([]);
      const { portal: q, stop } = await startPortal('postgres', env, { clock: new TestClock(clock.now().getTime()) });
      try {
        expect(await seenOn(q, dev, notesId)).toEqual(seen);
      } finally {
        await stop();
      }
    } finally {
      await s3.stop();
    }
  }, 60_000);

  it('refuses a destination that already has users, leaving it as it was', async () => {
    const destination = await freshDestination();
    const database = openDatabase(destination.config.database);
    await migrateToLatest(database.db);
    await database.close();
    await withPg(destination.url, (c) => c.query("insert into users (id, email, name, role, status, created_at, updated_at) values ('u_other', 'other@example.com', 'Other', 'developer', 'active', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"));
    const refused = await runImport(sourceDir, destination.config).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SnapshotRefused);
    expect((refused as Error).message).toMatch(/already has data[\s\S]*users: 1 row/);
    expect(await countRows(destination.url, 'users')).toBe(1);
    expect(await countRows(destination.url, 'versions')).toBe(0);
    expect(await readdir(destination.dataDir)).toEqual([]);
  });

  it('refuses a used destination before migrating it: a database at another schema is left unmigrated', async () => {
    const destination = await freshDestination();
    await withPg(destination.url, (c) => c.query("create table users (id text primary key); insert into users values ('u_someone_elses')"));
    const refused = await runImport(sourceDir, destination.config).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SnapshotRefused);
    expect((refused as Error).message).toMatch(/already has data[\s\S]*users: 1 row/);
    const tables = await withPg(destination.url, async (c) => (await c.query<{ name: string }>("select table_name as name from information_schema.tables where table_schema = current_schema() order by 1")).rows.map((r) => r.name));
    expect(tables).toEqual(['users']);
  });

  it('refuses a SQLite destination', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mosis-import-sqlite-dest-'));
    scratch.push(dir);
    const refused = await runImport(sourceDir, loadConfig({ DATA_DIR: dir })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SnapshotRefused);
    expect((refused as Error).message).toMatch(/writes into PostgreSQL/);
  });

  it('refuses a source at another schema version, saying to run this build on it once', async () => {
    const copy = await sourceCopy();
    const db = new SQLite(path.join(copy, 'portal.db'));
    db.prepare("delete from kysely_migration where name = '0018_rate_limits'").run();
    db.close();
    const destination = await freshDestination();
    const refused = await runImport(copy, destination.config).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SnapshotRefused);
    expect((refused as Error).message).toMatch(/not at this build's schema version[\s\S]*mosis-portal migrate[\s\S]*lacks migration\(s\) 0018_rate_limits/);
  });

  it('refuses a source a portal still has open (its WAL holds transactions)', async () => {
    const copy = await sourceCopy();
    const writer = new SQLite(path.join(copy, 'portal.db'));
    try {
      writer.pragma('journal_mode = WAL');
      writer.prepare("update users set name = name || ' '").run();
      const destination = await freshDestination();
      const refused = await runImport(copy, destination.config).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(SnapshotRefused);
      expect((refused as Error).message).toMatch(/portal seems to be running[\s\S]*portal\.db-wal/);
    } finally {
      writer.close();
    }
  });

  it('refuses a damaged blob (its bytes no longer match its hash) before any table is written', async () => {
    const copy = await sourceCopy();
    const sha256 = (await withSqlite(path.join(copy, 'portal.db'), (db) => db.prepare('select sha256 from versions order by version_code desc limit 1').pluck().get())) as string;
    await writeFile(storedBlobPath(path.join(copy, 'packages'), sha256), 'not the package any more');
    const destination = await freshDestination();
    const refused = await runImport(copy, destination.config).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SnapshotRefused);
    expect((refused as Error).message).toMatch(new RegExp(`Damaged blobs in the source: no table was written[\\s\\S]*${sha256}`));
    expect(await countRows(destination.url, 'users')).toBe(0);
    expect(await countRows(destination.url, 'versions')).toBe(0);
  });

  it('writes no table when PostgreSQL refuses a row halfway (one transaction), and the same destination takes the import once the row is mended', async () => {
    const copy = await sourceCopy();
    // PostgreSQL's text cannot hold NUL; SQLite's can. The apps come after users in the copy.
    const setName = (name: string) => {
      const db = new SQLite(path.join(copy, 'portal.db'));
      try {
        db.prepare('update apps set name = ? where package_id = ?').run(name, TODO);
      } finally {
        db.close();
      }
    };
    setName('To\u0000do');
    const destination = await freshDestination();
    await expect(runImport(copy, destination.config)).rejects.toThrow(/0x00/);
    for (const table of ['users', 'apps', 'versions', 'audit_log']) expect(await countRows(destination.url, table), table).toBe(0);
    setName('Todo');
    const report = await runImport(copy, destination.config);
    expect(report.ok).toBe(true);
    expect(await countRows(destination.url, 'apps')).toBe(2);
  });

  it('refuses a source whose packages directory lacks a blob a version needs (a wrong --from-packages), before any table is written', async () => {
    const copy = await sourceCopy();
    const sha256 = (await withSqlite(path.join(copy, 'portal.db'), (db) => db.prepare('select sha256 from versions order by version_code limit 1').pluck().get())) as string;
    await rm(storedBlobPath(path.join(copy, 'packages'), sha256));
    const destination = await freshDestination();
    const refused = await runImport(copy, destination.config).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SnapshotRefused);
    expect((refused as Error).message).toMatch(new RegExp(`not in the source packages directory[\\s\\S]*blob ${sha256} is missing`));
    expect(await countRows(destination.url, 'versions')).toBe(0);
  });
});

function withSqlite<T>(file: string, read: (db: SQLite.Database) => T): T {
  const db = new SQLite(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
