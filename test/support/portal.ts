import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { afterEach, beforeEach, describe, inject } from 'vitest';
import { buildApp, type Portal, type PortalDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { migrateToLatest } from '../../src/db/index.js';
import { PackageChecker } from '../../src/package/index.js';

export type TestDialect = 'sqlite' | 'postgres';

export interface TestPortal extends Portal {
  config: Config;
  dialect: TestDialect;
  dataDir: string;
  /** Every log line the portal wrote, as text. */
  logs(): string;
}

/**
 * A fresh portal on an empty database: SQLite in a temp dir, or a PostgreSQL schema of its own
 * (dropped afterwards), migrated to the latest version.
 */
export interface TestDatabase {
  dialect: TestDialect;
  dataDir: string;
  /** DATABASE_URL of an empty database: a SQLite file in dataDir, or a fresh PostgreSQL schema. */
  databaseUrl: string;
  cleanup(): Promise<void>;
}

/** A temp DATA_DIR and an empty database of the given dialect, removed by cleanup(). */
export async function prepareDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mosis-portal-test-'));
  let schema: string | undefined;
  let databaseUrl = `sqlite:${path.join(dataDir, 'portal.db')}`;
  if (dialect === 'postgres') {
    const url = inject('postgresUrl');
    if (!url) throw new Error('PostgreSQL is not available');
    schema = `${inject('postgresSchemaPrefix')}${randomBytes(6).toString('hex')}`;
    await withPg(url, (c) => c.query(`create schema ${schema}`));
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    databaseUrl = u.toString();
  }
  return {
    dialect,
    dataDir,
    databaseUrl,
    cleanup: async () => {
      // PostgreSQL schemas are dropped once, when the whole run ends (global-setup.ts): Kysely's
      // migrator reads the catalog of every schema, and a schema dropped by another test file at
      // that moment fails it with "schema does not exist".
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh portal on an empty database: SQLite in a temp dir, or a PostgreSQL schema of its own
 * (dropped afterwards), migrated to the latest version.
 */
export async function startPortal(
  dialect: TestDialect,
  env: Record<string, string> = {},
  deps: Omit<PortalDeps, 'logStream'> = {},
): Promise<{ portal: TestPortal; stop: () => Promise<void> }> {
  const database = await prepareDatabase(dialect);
  const config = loadConfig({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, LOG_LEVEL: 'info', ...env });
  const logStream = new PassThrough();
  const chunks: Buffer[] = [];
  logStream.on('data', (c: Buffer) => chunks.push(c));
  const built = await buildApp(config, { packageChecker: sharedPackageChecker(), ...deps, logStream });
  await migrateToLatest(built.database.db);
  const portal: TestPortal = { ...built, config, dialect, dataDir: database.dataDir, logs: () => Buffer.concat(chunks).toString('utf8') };
  return {
    portal,
    stop: async () => {
      await built.app.close();
      await database.cleanup();
    },
  };
}

let packageChecker: PackageChecker | undefined;

/**
 * One checker for every portal of a test file: its worker threads load the checks from the
 * TypeScript sources once, instead of once per test.
 */
export function sharedPackageChecker(): PackageChecker {
  packageChecker ??= new PackageChecker();
  return packageChecker;
}

export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs a suite once on SQLite and once on PostgreSQL (skipped, with a notice, when no PostgreSQL
 * server answers). Each test gets its own fresh portal from the returned getter.
 */
export interface SuiteOptions {
  /** Extra environment for every portal of the suite. */
  env?: () => Record<string, string>;
  /** Clock and ids for every portal of the suite (called once per test). */
  deps?: () => Omit<PortalDeps, 'logStream'>;
}

export function describeEachDatabase(name: string, suite: (portal: () => TestPortal) => void, options: SuiteOptions = {}): void {
  const postgres = inject('postgresUrl') !== null;
  for (const dialect of ['sqlite', 'postgres'] as const) {
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
