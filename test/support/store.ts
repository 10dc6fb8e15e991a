import { expect } from 'vitest';
import type { TestClock } from './accounts.js';
import { createApp, type TestUser } from './api.js';
import type { TestPortal } from './portal.js';
import { approve, reviewWorld, upload } from './review.js';
import { makePackage } from './packages.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '../../src/db/index.js';
import { appendEvent } from '../../src/events/index.js';
import { IndexWriter, SignedIndex, StoreService, storeSearch } from '../../src/features/store/index.js';
import { DeviceIds } from '../../src/storage/index.js';
import { runJobs } from './accounts.js';

export interface Release {
  channel?: 'stable' | 'beta';
  rollout?: number;
  permissions?: string[];
  minMosisVersion?: string;
}

/**
 * A developer with a signing key, a reviewer, and a way to put versions in the store through the
 * real API: upload (checks run), approve, publish. The store's model is settled after each step.
 */
export async function storeWorld(p: TestPortal, clock: TestClock) {
  const world = await reviewWorld(p, clock, ['Rita Reviewer']);
  const reviewer = world.reviewers[0] as TestUser;
  const { dev, key } = world;

  async function release(app: { id: string; package_id: string }, versionCode: number, options: Release = {}): Promise<{ id: string; file: Buffer }> {
    let uploaded: { id: string; file: Buffer };
    if (options.minMosisVersion === undefined) {
      uploaded = await upload(p, dev, app, key, versionCode, options.permissions ?? []);
    } else {
      const file = await readFile(await makePackage({ id: app.package_id, versionCode, key, manifest: { permissions: options.permissions ?? [], min_mosis_version: options.minMosisVersion } }));
      const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: file });
      expect(res.statusCode, res.body).toBe(202);
      await runJobs(p);
      uploaded = { id: res.json<{ id: string }>().id, file };
    }
    await approve(p, reviewer, uploaded.id);
    const published = await p.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/versions/${uploaded.id}/publish`,
      headers: dev.auth,
      payload: { channel: options.channel ?? 'stable', rollout_percent: options.rollout ?? 100 },
    });
    expect(published.statusCode, published.body).toBe(200);
    await p.core.store.settled();
    return uploaded;
  }

  async function newApp(packageId: string, extra: Record<string, unknown> = {}) {
    return createApp(p, dev, packageId, extra);
  }

  /**
   * Version `versionCode` of each app into the store through the same API as release(), in bulk:
   * packages built at once, checks run four at a time (the per-developer limit), the model settled once at the end. With
   * `spacingMs`, the clock moves that far before each publish, so the apps' publication times
   * follow the order given.
   */
  /**
   * Puts version `versionCode` of each app in the store as a publish leaves it (published, stable,
   * 100 %, signed by the store key, the app published, a version.published event), `spacingMs`
   * apart, without building, uploading and reviewing a package for each: for catalog tests that
   * need many apps in the store, not the way there (release() goes that way). Each version's file
   * is a small stand-in blob.
   */
  async function releaseMany(apps: readonly { id: string; package_id: string }[], versionCode = 1, spacingMs = 0): Promise<void> {
    for (const app of apps) {
      clock.advance(spacingMs);
      const at = clock.now();
      // A stand-in file, stored like a package, so the version can be downloaded.
      const staged = await p.blobs.stage(Readable.from([Buffer.from(`stand-in package ${app.package_id} ${versionCode}`)]), { maxBytes: 1024 });
      await staged.commit();
      const { sha256, size } = staged;
      const signed = await p.core.storeKeys.sign({ packageId: app.package_id, versionCode, sha256 });
      await p.database.db.transaction().execute(async (trx) => {
        const id = p.core.ids.id();
        await trx
          .insertInto('versions')
          .values({
            id,
            app_id: app.id,
            version: `1.0.${versionCode}`,
            version_code: versionCode,
            status: 'published',
            sha256,
            size,
            permissions: '[]',
            manifest: JSON.stringify({ id: app.package_id, version_code: versionCode, min_mosis_version: '1.0.0' }),
            checks: '[]',
            release_notes: null,
            channel: 'stable',
            rollout_percent: 100,
            created_at: at.toISOString(),
            published_at: at.toISOString(),
            files: null,
            checked_at: at.toISOString(),
            claimed_by: null,
            claim_expires_at: null,
            review_decision: 'approve',
            review_notes: null,
            reviewer_id: reviewer.id,
            decided_at: at.toISOString(),
            store_signature: signed.signature,
            store_key_id: signed.key_id,
            halted_at: null,
            halt_reason: null,
            yanked_at: null,
            yank_reason: null,
            superseded_at: null,
          })
          .execute();
        await trx.updateTable('apps').set({ status: 'published', updated_at: at.toISOString() }).where('id', '=', app.id).execute();
        await appendEvent(trx, { type: 'version.published', appId: app.id, actorId: dev.id, payload: { version_id: id, version_code: versionCode, channel: 'stable', rollout_percent: 100, superseded: [] }, at });
      });
    }
    p.events.notify();
    await p.core.store.settled();
  }

  return { ...world, reviewer, release, releaseMany, newApp };
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The store key a device builds from /.well-known/mosis-store-keys.json: node:crypto alone, nothing of the portal's code. */
export async function wellKnownKey(p: TestPortal, keyId: string): Promise<KeyObject> {
  const res = await p.app.inject({ method: 'GET', url: '/.well-known/mosis-store-keys.json' });
  expect(res.statusCode, res.body).toBe(200);
  const entry = res.json<{ keys: { key_id: string; public_key: string }[] }>().keys.find((k) => k.key_id === keyId);
  expect(entry, `key ${keyId} is published`).toBeDefined();
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from((entry as { public_key: string }).public_key, 'base64')]), format: 'der', type: 'spki' });
}

/**
 * A second StoreService on the portal's database, as a restarted instance has: its own model,
 * caches, signed index (in a temporary directory) and search, on `db` (the portal's own, or one
 * with a plugin that holds queries). Its catalog requests wait `buildWaitMs` for the build.
 */
export async function secondStore(p: TestPortal, options: { db?: Db; buildWaitMs?: number } = {}): Promise<{ store: StoreService; stop: () => Promise<void> }> {
  const { core } = p;
  const db = options.db ?? core.db;
  const writer = new IndexWriter(core.config.database, db, () => 0);
  const dir = await mkdtemp(path.join(tmpdir(), 'mosis-second-store-'));
  const store = new StoreService({
    db,
    clock: core.clock,
    events: core.events,
    blobs: core.blobs,
    deviceIds: await DeviceIds.open(core.config.dataDir),
    index: new SignedIndex({ write: (file) => writer.write(file), storeKeys: core.storeKeys, dir, log: core.log }),
    search: storeSearch(core.config.database, db),
    baseUrl: core.config.baseUrl,
    log: core.log,
    cacheBytes: 1 << 20,
    ...(options.buildWaitMs === undefined ? {} : { buildWaitMs: options.buildWaitMs }),
  });
  return {
    store,
    stop: async () => {
      await store.stop();
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
