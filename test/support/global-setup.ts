import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateToLatest, openDatabase } from '../../src/db/index.js';
import { databaseUrl, dropAbandonedDatabases, dropDatabases, fingerprint, withPg } from './pg-databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server for the PostgreSQL half of the suite, or null when none answers. */
    postgresUrl: string | null;
    /** Prefix of the databases this run creates, one per test, all dropped when the run ends. */
    postgresDatabasePrefix: string;
    /** A database migrated once per run: each test's migrated PostgreSQL database is a copy of it. */
    postgresTemplate: string;
    /** What a copy of the template looks like (pg-databases.ts), to tell a reusable copy. */
    postgresTemplateFingerprint: string;
  }
}

/**
 * Finds out once per run whether PostgreSQL answers, so every HTTP test file can run on it too,
 * and migrates the run's template database there once.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const url = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  let available = false;
  try {
    await client.connect();
    await client.query('select 1');
    available = true;
  } catch (err) {
    if (process.env['REQUIRE_POSTGRES'] === '1') {
      throw new Error(`PostgreSQL at ${url} does not answer and REQUIRE_POSTGRES=1: ${(err as Error).message}`, { cause: err });
    }
    console.warn(`\n!!! PostgreSQL at ${url} does not answer (${(err as Error).message}): the PostgreSQL half of the suite is SKIPPED.\n`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const prefix = `t_${process.pid}_`;
  const template = `${prefix}template`;
  project.provide('postgresUrl', available ? url : null);
  project.provide('postgresDatabasePrefix', prefix);
  project.provide('postgresTemplate', template);
  project.provide('postgresTemplateFingerprint', '');
  // Beside the tests, not before them: dropping a database waits for a checkpoint.
  const abandoned = available ? dropAbandonedDatabases(url).catch((err: unknown) => console.warn(`could not drop the databases of killed runs: ${String(err)}`)) : undefined;
  if (available) {
    await withPg(url, (c) => c.query(`create database "${template}" template template0`));
    const migrate = async (): Promise<void> => project.provide('postgresTemplateFingerprint', await migrateTemplate(url, template));
    await migrate();
    // In watch mode a rerun may bring a new migration: the template catches up before the tests copy it.
    project.onTestsRerun(migrate);
  }
  return async () => {
    await abandoned;
    if (available) await dropDatabases(url, prefix);
  };
}

/**
 * Migrates the template and answers its fingerprint, closing every connection to it: PostgreSQL
 * copies a database only while nobody is connected to it.
 */
async function migrateTemplate(url: string, template: string): Promise<string> {
  const database = openDatabase({ dialect: 'postgres', url: databaseUrl(url, template) });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
  return withPg(databaseUrl(url, template), fingerprint);
}
