import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ImportReport } from '../../src/backup/index.js';
import { createApp, registerUser } from '../support/api.js';
import { distBuilt } from '../support/dist.js';
import { prepareDatabase, startPortal, withPg } from '../support/portal.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `mosis-portal import-sqlite …` from dist/, as an operator runs it: stdout and stderr apart. */
async function importSqlite(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  await distBuilt();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/main.js'), 'import-sqlite', ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

const postgres = inject('postgresUrl') !== null;

describe.skipIf(!postgres)('mosis-portal import-sqlite (the built command)', () => {
  let sourceDir: string;
  const scratch: string[] = [];

  beforeAll(async () => {
    // A small NAS portal, stopped: an account and an app are enough here (test/backup covers the data).
    const { portal: p } = await startPortal('sqlite');
    sourceDir = p.dataDir;
    const dev = await registerUser(p);
    await createApp(p, dev, 'com.example.notes');
    await p.close();
  }, 30_000);

  afterAll(async () => {
    for (const dir of [...scratch, sourceDir]) await rm(dir, { recursive: true, force: true });
  });

  async function destination(): Promise<{ DATA_DIR: string; DATABASE_URL: string }> {
    const database = await prepareDatabase('postgres');
    scratch.push(database.dataDir);
    return { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
  }

  it('imports with exit code 0, the table on stdout and progress on stderr; --json and --verify-only; a second import and a changed row are refused or reported', { timeout: 60_000 }, async () => {
    const env = await destination();
    const first = await importSqlite(['--from', sourceDir], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^table\s+source\s+dest\s+sha256$/m);
    expect(first.stdout).toMatch(/^users\s+1\s+1\s+equal [0-9a-f]{12}$/m);
    expect(first.stdout).toMatch(/^apps\s+1\s+1\s+equal /m);
    expect(first.stdout).toContain('Imported and verified');
    expect(first.stderr).toContain('Copying 0 blob(s)');
    expect(first.stderr).toContain('Verifying');

    const [again, verified] = await Promise.all([importSqlite(['--from', sourceDir], env), importSqlite(['--from', sourceDir, '--verify-only', '--json'], env)]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already has data[\s\S]*users: 1 row/);
    expect(verified.code, verified.stderr).toBe(0);
    const report = JSON.parse(verified.stdout) as ImportReport;
    expect(report).toMatchObject({ verify_only: true, ok: true });
    expect(report.tables.find((t) => t.table === 'users')).toMatchObject({ source_rows: 1, destination_rows: 1, match: true });

    await withPg(env.DATABASE_URL, (c) => c.query("update apps set name = 'Renamed after the import'"));
    const changed = await importSqlite(['--from', sourceDir, '--verify-only'], env);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^apps\s+1\s+1\s+DIFFERENT$/m);
    expect(changed.stderr).toContain('the verification found differences');
  });

  it('refuses with exit code 2: no --from, a SQLite destination, a directory without a portal database, --verify-only on a database never imported into', { timeout: 60_000 }, async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'mosis-import-empty-'));
    scratch.push(empty);
    const env = await destination();
    const [noFrom, sqlite, notPortal, unmigrated] = await Promise.all([
      importSqlite([], env),
      importSqlite(['--from', sourceDir], { DATA_DIR: empty }),
      importSqlite(['--from', empty], env),
      importSqlite(['--from', sourceDir, '--verify-only'], env),
    ]);
    expect(unmigrated.code).toBe(2);
    expect(unmigrated.stderr).toContain('The destination database is not migrated');
    // --verify-only wrote nothing: the database still has no tables.
    expect(await withPg(env.DATABASE_URL, async (c) => (await c.query("select count(*)::int as n from pg_tables where schemaname = 'public'")).rows[0])).toEqual({ n: 0 });
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toContain('needs --from');
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toContain('writes into PostgreSQL');
    expect(notPortal.code).toBe(2);
    expect(notPortal.stderr).toContain('No portal database at');
  });
});
