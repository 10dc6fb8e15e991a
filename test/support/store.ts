import { expect } from 'vitest';
import type { TestClock } from './accounts.js';
import { createApp, type TestUser } from './api.js';
import type { TestPortal } from './portal.js';
import { approve, reviewWorld, upload } from './review.js';
import { makePackage } from './packages.js';
import { readFile } from 'node:fs/promises';
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
  async function releaseMany(apps: readonly { id: string; package_id: string }[], versionCode = 1, spacingMs = 0): Promise<Map<string, { id: string; file: Buffer }>> {
    const files = await Promise.all(apps.map(async (app) => readFile(await makePackage({ id: app.package_id, versionCode, key }))));
    const uploaded = new Map<string, { id: string; file: Buffer }>();
    for (const [i, app] of apps.entries()) {
      const file = files[i] as Buffer;
      const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: file });
      expect(res.statusCode, res.body).toBe(202);
      uploaded.set(app.package_id, { id: res.json<{ id: string }>().id, file });
      // A developer may have only a few uploads being checked at once (429 uploads_in_progress).
      if (uploaded.size % 4 === 0) await runJobs(p);
    }
    await runJobs(p);
    for (const app of apps) {
      const version = uploaded.get(app.package_id) as { id: string };
      await approve(p, reviewer, version.id);
      clock.advance(spacingMs);
      const published = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions/${version.id}/publish`, headers: dev.auth, payload: { channel: 'stable', rollout_percent: 100 } });
      expect(published.statusCode, published.body).toBe(200);
    }
    await p.core.store.settled();
    return uploaded;
  }

  return { ...world, reviewer, release, releaseMany, newApp };
}
