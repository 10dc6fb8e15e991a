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

  return { ...world, reviewer, release, newApp };
}
