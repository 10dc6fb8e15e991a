import { SelectQueryNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryId, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { describeOnPostgres } from '../support/portal.js';
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

  /** Set: the next read of the event log opens the gate and answers only once this resolves. */
  onEventsRead: (() => Promise<void>) | null = null;
  private readonly eventReads = new Set<QueryId>();

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    if (!SelectQueryNode.is(node)) return node;
    const ofEvents = JSON.stringify(node.from ?? {}).includes('"events"');
    if (this.closed && !ofEvents) this.held.add(queryId);
    // The end of the log, as a 404 looks it up (select max(id) from events).
    if (ofEvents && this.onEventsRead && JSON.stringify(node.selections ?? []).includes('"max"')) this.eventReads.add(queryId);
    return node;
  }

  async transformResult({ queryId, result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.held.delete(queryId)) await this.closed;
    const then = this.onEventsRead;
    if (this.eventReads.delete(queryId) && then) {
      this.onEventsRead = null;
      this.open();
      await then();
    }
    return result;
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

let clock: TestClock;

// Two instances are two StoreServices here; on PostgreSQL, where a held query does not hold the only connection.
describeOnPostgres(
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

        // The model catches up while the 404 is being looked at (between the answer and the
        // reading of the log's end): it was behind when it answered, so it answers again.
        const second = await upload(p, world.dev, app, world.key, 2);
        await approve(p, world.reviewer, second.id);
        await other.store.settled();
        const answeredAt = other.store.eventPosition() ?? 0;
        gate.close();
        const again = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${second.id}/publish`, headers: world.dev.auth, payload: { channel: 'stable', rollout_percent: 100 } });
        expect(again.statusCode, again.body).toBe(200);
        gate.onEventsRead = () => until(() => (other.store.eventPosition() ?? 0) > answeredAt);
        expect((await other.store.package(app.package_id, 2)).versionCode).toBe(2);

        // Caught up: what is not in the store is a 404 without waiting.
        const started = Date.now();
        await expect(other.store.package(app.package_id, 3)).rejects.toMatchObject({ code: 'store_package_not_found' });
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
