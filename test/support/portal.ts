import { rmSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, inject } from 'vitest';
import { createPortal, type Portal } from '../../src/app.js';
import type { Core, CoreDeps } from '../../src/core.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { migrateToLatest, openDatabase } from '../../src/db/index.js';
import { PackageChecker } from '../../src/package/index.js';
import { createDatabase, takePooledDatabase } from './pg-databases.js';

export { withPg } from './pg-databases.js';

export type TestDialect = 'sqlite' | 'postgres';

export interface TestPortal extends Portal {
  config: Config;
  /** Shorthands for the core's parts tests reach most. */
  database: Core['database'];
  blobs: Core['blobs'];
  jobs: Core['jobs'];
  jobWorker: Core['jobWorker'];
  events: Core['events'];
  dialect: TestDialect;
  dataDir: string;
  /** Every log line the portal wrote, as text. */
  logs(): string;
}

let sqliteTemplate: Promise<string> | undefined;

/**
 * A SQLite file migrated once per test process: copying it is a millisecond, migrating is tens.
 * Closed before it is copied, so its WAL is folded in and the copy is whole.
 */
function migratedSqliteTemplate(): Promise<string> {
  sqliteTemplate ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mosis-template-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'portal.db');
    const database = openDatabase({ dialect: 'sqlite', file });
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
    return file;
  })();
  return sqliteTemplate;
}

/**
 * Like prepareDatabase, but migrated to the latest version: on SQLite a copy of the process's
 * migrated file; on PostgreSQL a copy of the run's migrated template database, from the run's
 * pool (pg-databases.ts). Removed, or given back to the pool, by cleanup().
 */
export async function prepareMigratedDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mosis-portal-test-'));
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  if (dialect === 'postgres') {
    const serverUrl = inject('postgresUrl');
    if (!serverUrl) throw new Error('PostgreSQL is not available');
    const pooled = await takePooledDatabase({
      serverUrl,
      prefix: inject('postgresDatabasePrefix'),
      template: inject('postgresTemplate'),
      fingerprint: inject('postgresTemplateFingerprint'),
    });
    return {
      dialect,
      dataDir,
      databaseUrl: pooled.url,
      cleanup: async () => {
        await pooled.release();
        await removeDataDir();
      },
    };
  }
  const file = path.join(dataDir, 'portal.db');
  await copyFile(await migratedSqliteTemplate(), file);
  return { dialect, dataDir, databaseUrl: `sqlite:${file}`, cleanup: removeDataDir };
}

/** A database of a test's own, with a temp DATA_DIR. */
export interface TestDatabase {
  dialect: TestDialect;
  dataDir: string;
  /** DATABASE_URL: a SQLite file in dataDir, or a PostgreSQL database of its own. */
  databaseUrl: string;
  cleanup(): Promise<void>;
}

/** A temp DATA_DIR and an empty database of the given dialect, removed by cleanup(). */
export async function prepareDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mosis-portal-test-'));
  let databaseUrl = `sqlite:${path.join(dataDir, 'portal.db')}`;
  if (dialect === 'postgres') {
    const url = inject('postgresUrl');
    if (!url) throw new Error('PostgreSQL is not available');
    databaseUrl = await createDatabase(url, inject('postgresDatabasePrefix'));
  }
  return {
    dialect,
    dataDir,
    databaseUrl,
    cleanup: async () => {
      // PostgreSQL databases are dropped once, when the whole run ends (global-setup.ts): each
      // DROP DATABASE waits for a checkpoint, which dropping them together shares.
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh portal on a database of its own, migrated to the latest version: SQLite in a temp dir
 * (a copy of a file migrated once per process), or a PostgreSQL database copied from the run's
 * migrated template (dropped when the run ends). With DATABASE_URL in `env`, the portal uses that
 * database instead, migrated here.
 */
export async function startPortal(
  dialect: TestDialect,
  env: Record<string, string> = {},
  deps: Omit<CoreDeps, 'logStream'> = {},
): Promise<{ portal: TestPortal; stop: () => Promise<void> }> {
  const given = env['DATABASE_URL'] !== undefined;
  // A PostgreSQL copy nobody would use is not made: the SQLite copy only brings a DATA_DIR.
  const database = await prepareMigratedDatabase(given ? 'sqlite' : dialect);
  const config = loadConfig({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, LOG_LEVEL: 'info', ...env });
  const logStream = new PassThrough();
  const chunks: Buffer[] = [];
  logStream.on('data', (c: Buffer) => chunks.push(c));
  const built = await createPortal(config, { packageChecker: sharedPackageChecker(), passwordHashCost: TEST_PASSWORD_HASH_COST, ...deps, logStream });
  const { core } = built;
  // The copies are migrated already; a database the test brought may not be.
  if (given) await migrateToLatest(core.db);
  const portal: TestPortal = {
    ...built,
    config,
    database: core.database,
    blobs: core.blobs,
    jobs: core.jobs,
    jobWorker: core.jobWorker,
    events: core.events,
    dialect,
    dataDir: database.dataDir,
    logs: () => Buffer.concat(chunks).toString('utf8'),
  };
  return {
    portal,
    stop: async () => {
      await built.close();
      await database.cleanup();
    },
  };
}

/**
 * argon2id at 1 MiB (the portal: 19 MiB) and one pass (the portal: two): hundreds of accounts sign up and in
 * per run, and at OWASP's cost that was tens of CPU-seconds of hashing no test looks at. The
 * process tests (dist/) keep the real cost.
 */
export const TEST_PASSWORD_HASH_COST = { memoryCost: 1024, timeCost: 1 };

let packageChecker: PackageChecker | undefined;

/**
 * One checker for every portal of a test process (its files share it: vitest.config.ts does not
 * isolate them): its worker threads load the checks from the TypeScript sources once, instead of
 * once per test.
 */
export function sharedPackageChecker(): PackageChecker {
  packageChecker ??= new PackageChecker();
  return packageChecker;
}

export interface SuiteOptions {
  /** Extra environment for every portal of the suite. */
  env?: () => Record<string, string>;
  /** Clock and ids for every portal of the suite (called once per test). */
  deps?: () => Omit<CoreDeps, 'logStream'>;
}

/**
 * Runs a suite once on SQLite and once on PostgreSQL (skipped, with a notice, when no PostgreSQL
 * server answers). Each test gets its own fresh portal from the returned getter. Only for suites
 * whose behaviour can differ by dialect (queries, unique violations, transactions, concurrency,
 * migrations, jobs, events): say which above the call. Everything else uses describeOnSqlite.
 */
export function describeEachDatabase(name: string, suite: (portal: () => TestPortal) => void, options: SuiteOptions = {}): void {
  describeOnDatabases(['sqlite', 'postgres'], name, suite, options);
}

/**
 * Runs a suite on SQLite alone: for behaviour the database cannot change (HTTP, validation,
 * cookies, tokens, crypto, images). Each test gets its own fresh portal from the returned getter.
 */
export function describeOnSqlite(name: string, suite: (portal: () => TestPortal) => void, options: SuiteOptions = {}): void {
  describeOnDatabases(['sqlite'], name, suite, options);
}

/**
 * Runs a suite on PostgreSQL alone: for what needs queries running side by side on separate
 * connections (SQLite's one connection runs one query at a time).
 */
export function describeOnPostgres(name: string, suite: (portal: () => TestPortal) => void, options: SuiteOptions = {}): void {
  describeOnDatabases(['postgres'], name, suite, options);
}

function describeOnDatabases(
  dialects: readonly TestDialect[],
  name: string,
  suite: (portal: () => TestPortal) => void,
  options: SuiteOptions,
): void {
  const postgres = inject('postgresUrl') !== null;
  for (const dialect of dialects) {
    describe.skipIf(dialect === 'postgres' && !postgres)(`${name} [${dialect}]`, () => {
      let current: { portal: TestPortal; stop: () => Promise<void> } | undefined;
      beforeEach(async () => {
        current = await startPortal(dialect, options.env?.() ?? {}, options.deps?.() ?? {});
      });
      afterEach(async () => {
        await current?.stop();
        current = undefined;
      });
      suite(() => {
        if (!current) throw new Error('the portal is not running');
        return current.portal;
      });
    });
  }
}
