import { AliasNode, SelectQueryNode, TableNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryId, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { expect, it } from 'vitest';
import { buildModel } from '../../src/features/store/model-build.js';
import { StoreModel } from '../../src/features/store/store-model.js';
import { TestClock } from '../support/accounts.js';
import { describeEachDatabase, describeOnPostgres } from '../support/portal.js';
import { secondStore, storeWorld } from '../support/store.js';

/**
 * Holds the answers of the build's version scan (the chunked `versions` query with a limit) until
 * opened: the moment between a cold build's two steps, held still for the test to look at.
 */
class VersionScanGate implements KyselyPlugin {
  private readonly held = new Set<QueryId>();
  scans = 0;
  open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    if (SelectQueryNode.is(node) && node.limit !== undefined && node.groupBy === undefined && node.from?.froms.some(isVersions)) this.held.add(queryId);
    return node;
  }

  async transformResult({ queryId, result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.held.delete(queryId)) {
      this.scans += 1;
      await this.opened;
    }
    return result;
  }
}

function isVersions(from: unknown): boolean {
  const table = AliasNode.is(from as never) ? (from as AliasNode).node : from;
  return TableNode.is(table as never) && (table as TableNode).table.identifier.name === 'versions';
}

let clock: TestClock;

describeEachDatabase(
  'store: a cold build',
  (portal) => {
    it('orders the catalog before it reads a single version, and has every version once complete', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const apps = [];
      for (const name of ['Alpha', 'Bravo', 'Charlie']) apps.push(await world.newApp(`com.cold.${name.toLowerCase()}`, { name }));
      // Published a minute apart, oldest first; Alpha gets a second version last (updated, not new).
      await world.releaseMany(apps, 1, 60_000);
      clock.advance(60_000);
      await world.release(apps[0]!, 2);

      const gate = new VersionScanGate();
      const model = new StoreModel();
      let orderedWhileScanning = false;
      const built = buildModel(model, p.database.db.withPlugin(gate), '2000-01-01', () => false, () => {
        orderedWhileScanning = gate.scans === 0;
      });
      while (!model.ordered) await new Promise((resolve) => setTimeout(resolve, 5));
      // The catalog is ordered from the apps and their publication span alone.
      expect(orderedWhileScanning).toBe(true);
      expect(model.complete).toBe(false);
      const ids = (sort: 'new' | 'updated' | 'name') => model.page(sort, null, null, 10).apps.map((a) => a.packageId);
      expect(ids('new')).toEqual(['com.cold.charlie', 'com.cold.bravo', 'com.cold.alpha']);
      expect(ids('updated')).toEqual(['com.cold.alpha', 'com.cold.charlie', 'com.cold.bravo']);
      expect(ids('name')).toEqual(['com.cold.alpha', 'com.cold.bravo', 'com.cold.charlie']);
      expect(model.get('com.cold.alpha')?.loaded).toBe(false);

      gate.open();
      expect(await built).toBe(true);
      expect(model.complete).toBe(true);
      const alpha = model.get('com.cold.alpha')!;
      expect(alpha.loaded).toBe(true);
      expect(model.fullRelease(alpha)).toBe(2);
      expect(model.hasVersion(alpha, 1)).toBe(true);
      expect(model.chooseVersion(model.get('com.cold.bravo')!, { beta: false, platform: null, deviceId: null })).toBe(1);
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);

// The version scan is held in the middle of its query: on SQLite that would hold the portal's one
// connection, and the lookups this test makes would wait behind it.
describeOnPostgres(
  'store: a cold store',
  (portal) => {
    it('serves catalog pages, details and update checks of a cold store before it has read the versions', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const apps = [];
      for (const name of ['Delta', 'Echo']) apps.push(await world.newApp(`com.cold.${name.toLowerCase()}`, { name }));
      await world.releaseMany(apps, 3, 1000);

      // A second store on the same database, as a restarted instance has, its version scan held.
      const gate = new VersionScanGate();
      const second = await secondStore(p, { db: p.database.db.withPlugin(gate) });
      const cold = second.store;
      try {
        await cold.start();
        while (!cold.model.ordered) await new Promise((resolve) => setTimeout(resolve, 5));
        const device = { beta: false, platform: null, deviceId: 'device-1' };
        const page = JSON.parse((await cold.catalog({ sort: 'name', limit: 20 }, [])).body) as { items: { package_id: string; version_code: number | null }[] };
        expect(page.items.map((i) => [i.package_id, i.version_code])).toEqual([
          ['com.cold.delta', 3],
          ['com.cold.echo', 3],
        ]);
        expect(JSON.parse((await cold.detail('com.cold.delta', [], device)).body)).toMatchObject({ package_id: 'com.cold.delta', version: { version_code: 3 } });
        expect(JSON.parse(await cold.updates([{ package_id: 'com.cold.echo', version_code: 1 }], device))).toMatchObject({ updates: [{ package_id: 'com.cold.echo', version_code: 3 }] });
        expect(cold.model.complete).toBe(false);
        expect(gate.scans).toBeGreaterThan(0);

        gate.open();
        await cold.settled();
        expect(cold.model.complete).toBe(true);
        expect(JSON.parse((await cold.catalog({ sort: 'name', limit: 20 }, [])).body)).toEqual(page);
      } finally {
        gate.open();
        await second.stop();
      }
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
