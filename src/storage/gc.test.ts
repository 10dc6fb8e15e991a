import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from './fs-blob-store.js';
import { collectGarbage } from './gc.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mosis-gc-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(store: FsBlobStore, content: string, ageMs: number): Promise<string> {
  const staged = await store.stage(Readable.from([Buffer.from(content)]), { maxBytes: 1024 });
  await staged.commit();
  const when = new Date(Date.now() - ageMs);
  await utimes(path.join(root, 'sha256', staged.sha256.slice(0, 2), staged.sha256.slice(2, 4), staged.sha256), when, when);
  return staged.sha256;
}

describe('collectGarbage', () => {
  it('deletes old unreferenced blobs, keeps referenced ones and young ones', async () => {
    const store = new FsBlobStore(root);
    const hour = 3600_000;
    const used = await put(store, 'used by a version', 2 * hour);
    const orphan = await put(store, 'nobody wants me', 2 * hour);
    const fresh = await put(store, 'committed a moment ago, row not yet written', 1000);
    const result = await collectGarbage(store, (sha) => Promise.resolve(sha === used), { graceMs: hour, now: new Date() });
    expect(result).toEqual({ kept: 1, deleted: 1, tooYoung: 1 });
    expect(await store.has(used)).toBe(true);
    expect(await store.has(orphan)).toBe(false);
    expect(await store.has(fresh)).toBe(true);
  });

  it('counts a re-committed blob as new, so a duplicate upload in flight is not swept', async () => {
    const store = new FsBlobStore(root);
    const hour = 3600_000;
    const sha = await put(store, 'same bytes', 2 * hour);
    const again = await store.stage(Readable.from([Buffer.from('same bytes')]), { maxBytes: 1024 });
    await again.commit();
    const result = await collectGarbage(store, () => Promise.resolve(false), { graceMs: hour, now: new Date() });
    expect(result.tooYoung).toBe(1);
    expect(await store.has(sha)).toBe(true);
  });
});
