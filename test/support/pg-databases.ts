import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/*
 * PostgreSQL for the tests, a database per test rather than a schema per test: Kysely's migrator
 * reads the tables of every schema in its database, so with a schema per test every migration
 * (and every /readyz) got slower as the run went on, and failed when a concurrent run dropped its
 * schemas mid-read.
 *
 * The run migrates one template database (global-setup.ts). A test's migrated database is a slot
 * of the run's pool: a copy of the template made the first time the slot is taken, and put back
 * into the template's state (every row deleted, sequences restarted) each time it is taken again.
 * Copying costs about a hundred milliseconds and dropping a database waits for a checkpoint, while
 * deleting the rows of a test costs a few; a slot whose tables, columns, indexes, constraints or
 * migration records a test changed is set aside and copied afresh. Slots are claimed with advisory
 * locks, so the test files running at once never share one, and a test process that dies frees its
 * slots with its connection.
 */

export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The server's URL with another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * What makes a database the template's twin for a test: its tables, columns, sequences,
 * constraints, indexes, functions and triggers, and the migrations it records as applied. Rows of
 * the portal's tables are not in it: the reset deletes them.
 */
export const FINGERPRINT_SQL = `
select md5(string_agg(item, E'\\n' order by item)) as fingerprint from (
  select 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce((
    select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' order by a.attnum)
    from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '') as item
  from pg_class c where c.relnamespace = current_schema()::regnamespace
  union all select 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) from pg_constraint where connamespace = current_schema()::regnamespace
  union all select 'idx ' || pg_get_indexdef(indexrelid) from pg_index where indrelid in (select oid from pg_class where relnamespace = current_schema()::regnamespace)
  union all select 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) from pg_proc p where p.pronamespace = current_schema()::regnamespace
  union all select 'trg ' || pg_get_triggerdef(t.oid) from pg_trigger t join pg_class c on c.oid = t.tgrelid where c.relnamespace = current_schema()::regnamespace and not t.tgisinternal
  union all select 'migration ' || name || ' ' || timestamp from kysely_migration
  union all select 'migration lock ' || id || ' ' || is_locked::text from kysely_migration_lock
) items`;

/** The fingerprint of the database `client` is connected to. */
export async function fingerprint(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ fingerprint: string }>(FINGERPRINT_SQL);
  return rows[0]?.fingerprint ?? '';
}

/**
 * A new database named with the run's prefix: a copy of `template` (which nobody may be connected
 * to), or an empty one. Returns its URL. Dropped when the run ends (dropDatabases).
 */
export async function createDatabase(serverUrl: string, prefix: string, template?: string): Promise<string> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await copyDatabase(serverUrl, name, template);
  return databaseUrl(serverUrl, name);
}

async function copyDatabase(serverUrl: string, name: string, template: string | undefined): Promise<void> {
  // template0 for an empty one, not the server's default template1: nobody can be connected to
  // it, so runs creating databases at once never fail with "source database is being accessed".
  await withPg(serverUrl, (c) => c.query(`create database "${name}" template "${template ?? 'template0'}"`));
}

export interface PoolOptions {
  serverUrl: string;
  /** The run's prefix: slots are `<prefix>slot_<n>`, and their advisory locks are keyed by it. */
  prefix: string;
  /** The migrated template and its fingerprint. */
  template: string;
  fingerprint: string;
}

/** A migrated database of the test's own until release(): the slot goes back to the pool. */
export interface PooledDatabase {
  url: string;
  release(): Promise<void>;
}

/** This process's connection holding its slots' advisory locks, and the slots it holds. */
let locks: Promise<pg.Client> | undefined;
const held = new Set<number>();

function lockConnection(serverUrl: string): Promise<pg.Client> {
  locks ??= (async () => {
    const client = new pg.Client({ connectionString: serverUrl, application_name: 'mosis-test-slots' });
    await client.connect();
    return client;
  })();
  return locks;
}

/** Takes a free slot of the run's pool, ready for a test: a fresh copy of the template, or one reset to it. */
export async function takePooledDatabase(options: PoolOptions): Promise<PooledDatabase> {
  const client = await lockConnection(options.serverUrl);
  for (let slot = 0; ; slot++) {
    // A session may take an advisory lock it holds again: the slots this process holds are skipped here.
    if (held.has(slot)) continue;
    held.add(slot);
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1), $2) as ok', [options.prefix, slot]);
    if (!rows[0]?.ok) {
      held.delete(slot);
      continue;
    }
    const release = async (): Promise<void> => {
      await client.query('select pg_advisory_unlock(hashtext($1), $2)', [options.prefix, slot]);
      held.delete(slot);
    };
    try {
      const name = `${options.prefix}slot_${slot}`;
      await readySlot(options, name);
      return { url: databaseUrl(options.serverUrl, name), release };
    } catch (err) {
      await release();
      throw err;
    }
  }
}

async function readySlot(options: PoolOptions, name: string): Promise<void> {
  const { serverUrl, prefix, template } = options;
  const reset = await withPg(databaseUrl(serverUrl, name), async (c) => {
    if ((await fingerprint(c)) !== options.fingerprint) return 'changed';
    await c.query(await resetSql(c, options.fingerprint));
    return 'reset';
  }).catch((err: unknown) => ((err as { code?: string }).code === '3D000' ? 'missing' : 'failed'));
  if (reset === 'reset') return;
  // 3D000: the slot was never taken in this run.
  if (reset === 'missing') return copyDatabase(serverUrl, name, template);
  // Changed beyond its rows by the last test (or its reset failed): set aside under another name,
  // dropped with the rest when the run ends, and the slot copied afresh.
  await renameDatabase(serverUrl, name, `${prefix}aside_${randomBytes(6).toString('hex')}`);
  await copyDatabase(serverUrl, name, template);
}

/** Renames a database once the connections still open to it (a test's leftovers) are gone. */
async function renameDatabase(serverUrl: string, from: string, to: string): Promise<void> {
  await withPg(serverUrl, async (c) => {
    for (let attempt = 1; ; attempt++) {
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [from]);
      try {
        await c.query(`alter database "${from}" rename to "${to}"`);
        return;
      } catch (err) {
        // 55006: a connection was still closing.
        if ((err as { code?: string }).code !== '55006' || attempt === 50) throw err;
        await sleep(20);
      }
    }
  });
}

/** The reset statement for the schema of one fingerprint (a rerun in watch mode may bring another). */
const resetStatements = new Map<string, string>();

/**
 * One transaction that deletes every row of the portal's tables, children before parents, and
 * restarts every sequence. The tables are the template's (the fingerprints matched), so the
 * statement is worked out once per process.
 */
async function resetSql(c: pg.Client, schemaFingerprint: string): Promise<string> {
  const known = resetStatements.get(schemaFingerprint);
  if (known !== undefined) return known;
  const tables = (
    await c.query<{ name: string }>(
      "select relname as name from pg_class where relnamespace = current_schema()::regnamespace and relkind in ('r', 'p') and relname not like 'kysely\\_%'",
    )
  ).rows.map((r) => r.name);
  const references = (
    await c.query<{ child: string; parent: string }>(
      "select c.relname as child, p.relname as parent from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid where k.contype = 'f' and k.connamespace = current_schema()::regnamespace and k.conrelid <> k.confrelid",
    )
  ).rows;
  const sequences = (
    await c.query<{ name: string }>("select relname as name from pg_class where relnamespace = current_schema()::regnamespace and relkind = 'S'")
  ).rows.map((r) => r.name);
  const order: string[] = [];
  let left = new Set(tables);
  while (left.size > 0) {
    // A table goes once no table still to be emptied references it.
    const ready = [...left].filter((t) => !references.some((r) => r.parent === t && r.child !== t && left.has(r.child)));
    if (ready.length === 0) throw new Error(`foreign keys in a cycle among ${[...left].join(', ')}: the pool cannot reset them`);
    order.push(...ready.sort());
    left = new Set([...left].filter((t) => !ready.includes(t)));
  }
  const statement = [
    'begin',
    "set local lock_timeout = '5s'",
    ...order.map((t) => `delete from "${t}"`),
    ...sequences.map((s) => `alter sequence "${s}" restart`),
    'commit',
  ].join(';\n');
  resetStatements.set(schemaFingerprint, statement);
  return statement;
}

/**
 * Drops every database whose name starts with `prefix`. Each DROP DATABASE waits for a
 * checkpoint; several at once share one, so they are dropped a few at a time.
 */
export async function dropDatabases(serverUrl: string, prefix: string): Promise<void> {
  const { rows } = await withPg(serverUrl, (c) =>
    c.query<{ name: string }>('select datname as name from pg_database where starts_with(datname, $1)', [prefix]),
  );
  const names = rows.map((r) => r.name);
  const dropSome = async (): Promise<void> => {
    for (let name = names.pop(); name !== undefined; name = names.pop()) {
      // FORCE: a test that leaked a connection does not keep its database alive.
      await withPg(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
    }
  };
  await Promise.all(Array.from({ length: 8 }, dropSome));
}

/**
 * Drops the databases runs left behind when they were killed before their teardown: those named
 * `t_<pid>_…` whose process is gone. Only on a server on this machine, where those pids are this
 * machine's processes.
 */
export async function dropAbandonedDatabases(serverUrl: string): Promise<void> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(serverUrl).hostname)) return;
  const { rows } = await withPg(serverUrl, (c) => c.query<{ name: string }>("select datname as name from pg_database where datname ~ '^t_[0-9]+_'"));
  const pids = new Set(rows.map((r) => Number(r.name.split('_')[1])));
  for (const pid of pids) {
    if (!isRunning(pid)) await dropDatabases(serverUrl, `t_${pid}_`);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
