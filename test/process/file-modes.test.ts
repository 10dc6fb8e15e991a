import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/storage/index.js';
import { PASSWORD } from '../support/api.js';
import { prepareDatabase } from '../support/portal.js';
import { startServer } from '../support/server-process.js';

/** Every path under `root` (itself included) with its permission bits, in octal. */
async function modes(root: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const visit = async (file: string): Promise<void> => {
    const info = await stat(file);
    found[path.relative(root, file) || '.'] = `${info.isDirectory() ? 'dir' : 'file'} ${(info.mode & 0o777).toString(8)}`;
    if (info.isDirectory()) for (const entry of await readdir(file)) await visit(path.join(file, entry));
  };
  await visit(root);
  return found;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('state files are for the portal user alone', () => {
  // The usual umask: left alone, every file the portal writes would be world-readable.
  let previous: number;
  beforeEach(() => {
    previous = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(previous);
  });

  it('the process creates files 0600 and directories 0700, and closes what an older version left open', async () => {
    const database = await prepareDatabase('sqlite');
    try {
      // As an older portal (or an operator's cp) left them: readable by everyone.
      await chmod(database.dataDir, 0o755);
      await mkdir(path.join(database.dataDir, 'packages'), { mode: 0o755 });
      await writeFile(path.join(database.dataDir, 'portal.db'), '', { mode: 0o644 });
      const server = await startServer({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl });
      try {
        // Sign-up mails a verification link; without SMTP it lands in DATA_DIR/outbox.
        await fetch(`${server.baseUrl}/v1/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'modes@example.com', password: PASSWORD, name: 'Modes' }),
        });
        await until(async () => (await readdir(path.join(database.dataDir, 'outbox')).catch(() => [])).some((f) => f.endsWith('.eml')), 'the verification mail');
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      const found = await modes(database.dataDir);
      for (const expected of ['portal.db', 'outbox', 'packages', 'backups', 'keys/access-token-keys.json']) expect(Object.keys(found)).toContain(expected);
      const open = Object.entries(found).filter(([, mode]) => mode !== 'dir 700' && mode !== 'file 600');
      expect(open).toEqual([]);
    } finally {
      await database.cleanup();
    }
  });

  it('stores blobs 0600 under 0700 directories whatever the umask', async () => {
    const database = await prepareDatabase('sqlite');
    try {
      const root = path.join(database.dataDir, 'blobs');
      const blobs = new FsBlobStore(root);
      const staged = await blobs.stage(Readable.from([Buffer.from('an unpublished package')]), { maxBytes: 1024 });
      await staged.commit();
      const found = await modes(root);
      expect(Object.keys(found)).toContain(path.join('sha256', staged.sha256.slice(0, 2), staged.sha256.slice(2, 4), staged.sha256));
      expect(Object.entries(found).filter(([, mode]) => mode !== 'dir 700' && mode !== 'file 600')).toEqual([]);
    } finally {
      await database.cleanup();
    }
  });
});
