import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from '../shared/index.js';
import type { BlobStore } from './blob-store.js';
import { collectGarbage } from './gc.js';

/** One store to test: fresh (empty) for each test. */
export interface ContractSubject {
  readonly store: BlobStore;
  /** Whatever staging left behind, locally and (for a remote store) remotely. */
  readonly leftovers: () => Promise<string[]>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function all(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listed(store: BlobStore): Promise<string[]> {
  const hashes: string[] = [];
  for await (const h of store.list()) hashes.push(h);
  return hashes.sort();
}

/**
 * What every BlobStore does, whatever holds the bytes: used by the filesystem store's tests and by
 * the S3 store's (against a real S3-compatible server).
 */
export function blobStoreContract(name: string, subject: () => Promise<ContractSubject>): void {
  describe(`${name}: the BlobStore contract`, () => {
    it('stages with hash and size, shows nothing until commit, then reads, lists, sizes and dates it', async () => {
      const { store, leftovers } = await subject();
      const data = Buffer.from('a mosis package, pretend');
      const staged = await store.stage(Readable.from([data.subarray(0, 5), data.subarray(5)]), { maxBytes: 1024 });
      expect(staged.sha256).toBe(sha(data));
      expect(staged.size).toBe(data.length);
      expect(await readFile(staged.path)).toEqual(data);
      expect(await store.has(staged.sha256)).toBe(false);
      expect(await listed(store)).toEqual([]);
      const before = Date.now();
      await staged.commit();
      await staged.discard();
      expect(await store.has(staged.sha256)).toBe(true);
      expect(await store.size(staged.sha256)).toBe(data.length);
      expect(await all(store.read(staged.sha256))).toEqual(data);
      expect(await listed(store)).toEqual([staged.sha256]);
      const at = await store.storedAt(staged.sha256);
      // Second-granular servers (S3's Last-Modified) round down.
      expect(at!.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(await leftovers()).toEqual([]);
    });

    it('stores identical content once, and the observer sees every byte', async () => {
      const { store, leftovers } = await subject();
      const seen: Buffer[] = [];
      const a = await store.stage(Readable.from([Buffer.from('same')]), { maxBytes: 100, observe: (c) => void seen.push(c) });
      const b = await store.stage(Readable.from([Buffer.from('same')]), { maxBytes: 100 });
      await a.commit();
      await b.commit();
      expect(Buffer.concat(seen).toString()).toBe('same');
      expect(await listed(store)).toEqual([sha(Buffer.from('same'))]);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses with 413 the moment the limit is crossed and leaves nothing behind', async () => {
      const { store, leftovers } = await subject();
      let produced = 0;
      const endless = new Readable({
        read() {
          produced += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 7));
        },
      });
      const error = await store.stage(endless, { maxBytes: 256 * 1024 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(413);
      expect(produced).toBeLessThan(16 * 1024 * 1024);
      // A refusal while the first bytes are still on their way.
      const early = new PassThrough();
      early.end(Buffer.alloc(100));
      await expect(store.stage(early, { maxBytes: 1 })).rejects.toMatchObject({ status: 413 });
      expect(await listed(store)).toEqual([]);
      expect(await leftovers()).toEqual([]);
    });

    it('reads an inclusive byte range', async () => {
      const { store } = await subject();
      const staged = await store.stage(Readable.from([Buffer.from('0123456789')]), { maxBytes: 100 });
      await staged.commit();
      expect((await all(store.read(staged.sha256, { start: 2, end: 5 }))).toString()).toBe('2345');
      if (store.open) expect((await all(await store.open(staged.sha256, { start: 9, end: 9 }))).toString()).toBe('9');
    });

    it('hands out a local file with the bytes, and deletes', async () => {
      const { store, leftovers } = await subject();
      const data = Buffer.from('random access for the checks');
      const staged = await store.stage(Readable.from([data]), { maxBytes: 100 });
      await staged.commit();
      for (let i = 0; i < 2; i++) {
        // The first may be the upload's own staged file kept for the checks; the second is a copy.
        const local = await store.localFile(staged.sha256);
        expect(await readFile(local!.path)).toEqual(data);
        await local!.release();
      }
      await store.delete(staged.sha256);
      expect(await store.has(staged.sha256)).toBe(false);
      expect(await store.size(staged.sha256)).toBeNull();
      expect(await store.storedAt(staged.sha256)).toBeNull();
      expect(await store.localFile(staged.sha256)).toBeNull();
      expect(await listed(store)).toEqual([]);
      expect(await leftovers()).toEqual([]);
    });

    it('discards a staged blob, sweeps staging, answers writable, and is collected when nothing refers to it', async () => {
      const { store, leftovers } = await subject();
      const dropped = await store.stage(Readable.from([Buffer.from('x')]), { maxBytes: 10 });
      await dropped.discard();
      await dropped.discard();
      expect(await leftovers()).toEqual([]);
      expect(await store.has(dropped.sha256)).toBe(false);
      await store.checkWritable();
      expect(await store.sweepStaging()).toBeGreaterThanOrEqual(0);
      const kept = await store.stage(Readable.from([Buffer.from('kept')]), { maxBytes: 10 });
      const orphan = await store.stage(Readable.from([Buffer.from('orphan')]), { maxBytes: 10 });
      await kept.commit();
      await orphan.commit();
      const later = new Date(Date.now() + 10 * 60_000);
      const result = await collectGarbage(store, (h) => Promise.resolve(h === kept.sha256), { graceMs: 60_000, now: later });
      expect(result).toEqual({ kept: 1, deleted: 1, tooYoung: 0 });
      expect(await listed(store)).toEqual([kept.sha256]);
      const young = await collectGarbage(store, () => Promise.resolve(false), { graceMs: 60 * 60_000, now: new Date() });
      expect(young.tooYoung).toBe(1);
    });
  });
}
