import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server for the PostgreSQL half of the suite, or null when none answers. */
    postgresUrl: string | null;
    /** Prefix of the schemas this run creates, one per test, all dropped when the run ends. */
    postgresSchemaPrefix: string;
  }
}

/** Finds out once per run whether PostgreSQL answers, so every HTTP test file can run on it too. */
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
  project.provide('postgresUrl', available ? url : null);
  project.provide('postgresSchemaPrefix', prefix);
  return async () => {
    if (available) await dropSchemas(url, prefix);
  };
}

async function dropSchemas(url: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>('select nspname as name from pg_namespace where starts_with(nspname, $1)', [prefix]);
    for (const { name } of rows) await client.query(`drop schema "${name}" cascade`);
  } finally {
    await client.end();
  }
}
