import { SelectQueryNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryId, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { describeOnSqlite } from '../support/portal.js';
import { approve, upload } from '../support/review.js';
import { secondStore, storeWorld } from '../support/store.js';

/** Holds every select but the event log's while closed: an instance whose read model lags behind the log. */
class ReadGate implements KyselyPlugin {
  private closed: Promise<void> | null = null;
  private release = (): void => undefined;
  private readonly held = new Set<QueryId>();

  close(): void {
    this.closed = new Promise<void>((resolve) => (this.release = resolve));
  }

  open(): void {
    this.closed = null;
    this.release();
  }

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    if (this.closed && SelectQueryNode.is(node) && !JSON.stringify(node.from ?? {}).includes('"events"')) this.held.add(queryId);
    return node;
  }

  async transformResult({ queryId, result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.held.delete(queryId)) await this.closed;
    return result;
  }
}

let clock: TestClock;

// The event log and the read model are the same on both dialects; two instances are two StoreServices here.
describeOnSqlite(
  'store: an instance whose read model lags behind the event log',
  (portal) => {
    it('answers a download and a detail published on another instance a moment ago instead of 404, and a 404 for what is not there at once', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      // A store with an app in it already: the other instance's model is complete, and answers from itself.
      await world.releaseMany([await world.newApp('com.example.first')]);
      const app = await world.newApp('com.example.lagging');
      const gate = new ReadGate();
      const other = await secondStore(p, { db: p.database.db.withPlugin(gate) });
      try {
        const { id } = await upload(p, world.dev, app, world.key, 1);
        await approve(p, world.reviewer, id);
        await other.store.settled();
        // The other instance reads the app the publish changed only once the gate opens: its model lags.
        gate.close();
        const published = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${id}/publish`, headers: world.dev.auth, payload: { channel: 'stable', rollout_percent: 100 } });
        expect(published.statusCode, published.body).toBe(200);
        setTimeout(() => gate.open(), 300);
        const pkg = await other.store.package(app.package_id, 1);
        expect(pkg.versionCode).toBe(1);
        const detail = await other.store.detail(app.package_id, [], { beta: false, platform: null, deviceId: null });
        expect(JSON.parse(detail.body)).toMatchObject({ package_id: app.package_id, version: { version_code: 1 } });

        // Caught up: what is not in the store is a 404 without waiting.
        const started = Date.now();
        await expect(other.store.package(app.package_id, 2)).rejects.toMatchObject({ code: 'store_package_not_found' });
        await expect(other.store.detail('com.example.missing', [], { beta: false, platform: null, deviceId: null })).rejects.toMatchObject({ code: 'store_app_not_found' });
        expect(Date.now() - started).toBeLessThan(1_500);
      } finally {
        gate.open();
        await other.stop();
      }
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
