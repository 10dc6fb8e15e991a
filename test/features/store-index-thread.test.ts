import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { writeIndexFile } from '../../src/features/store/index-file.js';
import { IndexWriter } from '../../src/features/store/index-writer.js';
import { TestClock } from '../support/accounts.js';
import { describeEachDatabase } from '../support/portal.js';
import { storeWorld } from '../support/store.js';

let clock: TestClock;

// The thread opens a connection of its own: a read-only SQLite file or a PostgreSQL pool.
describeEachDatabase(
  'signed index written on a thread (large catalogs)',
  (portal) => {
    it('writes on its own thread and connection exactly the bytes the main thread writes', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      await world.release(world.app, 1, { permissions: ['network'] });
      const other = await world.newApp('com.example.weather');
      await world.release(other, 3);
      const threaded = new IndexWriter(p.config.database, p.database.db, () => 2, 0);
      try {
        await threaded.write(path.join(p.dataDir, 'threaded.json'));
      } finally {
        await threaded.close();
      }
      await writeIndexFile(p.database.db, path.join(p.dataDir, 'main.json'));
      const bytes = await readFile(path.join(p.dataDir, 'threaded.json'));
      expect(bytes.equals(await readFile(path.join(p.dataDir, 'main.json')))).toBe(true);
      expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({
        format: 1,
        apps: [
          { package_id: 'com.example.notes', versions: [{ version_code: 1, permissions: ['network'] }] },
          { package_id: 'com.example.weather', versions: [{ version_code: 3 }] },
        ],
      });
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
