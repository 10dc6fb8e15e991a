import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyDatabases } from './sqlite-copy.js';
import { digestFileSync, integrityCheck } from './sqlite-files.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(63) + 'c';

describe('copying a live SQLite database', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mosis-sqlite-copy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies on a thread of its own what a writer has committed, with its checksum, migrations and the hashes its rows name', async () => {
    const source = path.join(dir, 'live.db');
    const live = new SQLite(source);
    live.pragma('journal_mode = WAL');
    live.exec(`create table kysely_migration (name text primary key, timestamp text);
      insert into kysely_migration values ('0002_second', 't'), ('0001_first', 't');
      create table versions (id text, sha256 text, size integer);
      insert into versions values ('v1', '${A}', 1), ('v2', '${A}', 1), ('v3', 'not-a-hash', 2);
      create table app_images (sha256 text, note text);
      insert into app_images values ('${B}', 'UPPER ${'F'.repeat(59)}');
      create virtual table search using fts5(body);
      insert into search values ('${'d'.repeat(64)}');`);
    // Committed to the WAL only, not checkpointed: the copy must still have it.
    live.exec(`insert into versions values ('v4', '${'e'.repeat(64)}', 3)`);
    try {
      const target = path.join(dir, 'copy.db');
      // 0 bytes in-process: this goes to the thread.
      const [copied] = await copyDatabases([{ source, target, named: true }], 0);
      expect(copied?.migrations).toEqual(['0001_first', '0002_second']);
      expect(copied?.named.sort()).toEqual([A, B, 'e'.repeat(64)]);
      expect({ sha256: copied?.sha256, size: copied?.size }).toEqual(digestFileSync(target));
      expect(integrityCheck(target)).toEqual(['ok']);
      const copy = new SQLite(target, { readonly: true });
      expect(copy.prepare('select count(*) as n from versions').get()).toEqual({ n: 4 });
      // A single file: nothing else to carry with it.
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      copy.close();
    } finally {
      live.close();
    }
  });
});
