import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../shared/index.js';
import { blobStoreContract } from './blob-store.contract.js';
import { FsBlobStore } from './fs-blob-store.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mosis-blobs-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const staging = () => readdir(path.join(root, '.staging')).catch(() => []);

blobStoreContract('FsBlobStore', () => Promise.resolve({ store: new FsBlobStore(root), leftovers: staging }));

describe('FsBlobStore', () => {
  it('stages a stream with its hash and size, then commits it under sha256/ab/cd/<hash>', async () => {
    const store = new FsBlobStore(root);
    const data = Buffer.from('a mosis package, pretend');
    const staged = await store.stage(Readable.from([data.subarray(0, 5), data.subarray(5)]), { maxBytes: 1024 });
    expect(staged.sha256).toBe(sha(data));
    expect(staged.size).toBe(data.length);
    expect(await store.has(staged.sha256)).toBe(false);
    await staged.commit();
    const file = path.join(root, 'sha256', staged.sha256.slice(0, 2), staged.sha256.slice(2, 4), staged.sha256);
    expect(await readFile(file)).toEqual(data);
    expect(await store.size(staged.sha256)).toBe(data.length);
    expect(await staging()).toEqual([]);
    const list: string[] = [];
    for await (const h of store.list()) list.push(h);
    expect(list).toEqual([staged.sha256]);
  });

  it('stores identical content once', async () => {
    const store = new FsBlobStore(root);
    const a = await store.stage(Readable.from([Buffer.from('same')]), { maxBytes: 100 });
    const b = await store.stage(Readable.from([Buffer.from('same')]), { maxBytes: 100 });
    await a.commit();
    await b.commit();
    const list: string[] = [];
    for await (const h of store.list()) list.push(h);
    expect(list).toHaveLength(1);
    expect(await staging()).toEqual([]);
  });

  it('fails with 413 the moment the limit is crossed and leaves no staging file', async () => {
    const store = new FsBlobStore(root);
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024));
      },
    });
    const error = await store.stage(endless, { maxBytes: 10 * 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(413);
    expect(produced).toBeLessThan(200 * 1024); // stopped reading soon after the limit, not at the end
    expect(await staging()).toEqual([]);
  });

  it('leaves no staging file when the limit is crossed while the staging file is still being opened', async () => {
    const store = new FsBlobStore(root);
    // The refusal can come before the file's open has finished; removing the file then, before the
    // stream closed, let it reappear. The race depends on timing: without the fix this test failed
    // in each of three runs here (and the HTTP 413 test once in CI).
    for (let i = 0; i < 300; i++) {
      const source = new PassThrough();
      source.end(Buffer.alloc(100));
      await expect(store.stage(source, { maxBytes: 1 })).rejects.toMatchObject({ status: 413 });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await staging()).toEqual([]);
  });

  it('discards a staged blob and sweeps leftovers of a crash', async () => {
    const store = new FsBlobStore(root);
    const staged = await store.stage(Readable.from([Buffer.from('x')]), { maxBytes: 10 });
    await staged.discard();
    expect(await staging()).toEqual([]);
    await writeFile(path.join(root, '.staging', 'left-by-a-crash.part'), 'partial');
    expect(await store.sweepStaging()).toBe(1);
    expect(await staging()).toEqual([]);
  });

  it('on a shared directory, sweeps what dead processes of this host left but keeps a live instance\'s upload until it has been idle too long', async () => {
    const store = new FsBlobStore(root);
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64);
    // A process of this host that is gone (a child that has exited), one that runs (this test's
    // parent, standing for another instance), and an instance on another host.
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    const dead = `${host}.${deadPid}.1-00aa.part`;
    const live = `${host}.${process.ppid}.1-00bb.part`;
    const elsewhere = 'other-host.4242.1-00cc.part';
    await store.checkWritable();
    for (const name of [dead, live, elsewhere]) await writeFile(path.join(root, '.staging', name), 'partial');
    expect(await store.sweepStaging({ idleMs: 60_000 })).toBe(1);
    expect((await staging()).sort()).toEqual([live, elsewhere].sort());
    // Idle for longer than a request may last: removed whoever left it.
    const old = new Date(Date.now() - 120_000);
    await utimes(path.join(root, '.staging', elsewhere), old, old);
    expect(await store.sweepStaging({ idleMs: 60_000 })).toBe(1);
    expect(await staging()).toEqual([live]);
  });

  it('reads a byte range of a stored blob', async () => {
    const store = new FsBlobStore(root);
    const staged = await store.stage(Readable.from([Buffer.from('0123456789')]), { maxBytes: 100 });
    await staged.commit();
    const chunks: Buffer[] = [];
    for await (const c of store.read(staged.sha256, { start: 2, end: 5 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('2345');
  });

  it('answers 507 when the disk is full, leaves nothing partial, and works again once space is freed', async (ctx) => {
    const mountPoint = await mkdtemp(path.join(tmpdir(), 'mosis-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint], { stdio: 'ignore' });
    } catch {
      await rm(mountPoint, { recursive: true, force: true });
      ctx.skip('mounting a small tmpfs needs root; the disk-full case is not exercised here');
    }
    try {
      const store = new FsBlobStore(mountPoint);
      const error = await store.stage(Readable.from([Buffer.alloc(512 * 1024, 1)]), { maxBytes: 1024 * 1024 }).catch((e: unknown) => e);
      expect((error as AppError).status).toBe(507);
      expect((error as AppError).code).toBe('insufficient_storage');
      expect(await readdir(path.join(mountPoint, '.staging'))).toEqual([]);
      const ok = await store.stage(Readable.from([Buffer.alloc(64 * 1024, 2)]), { maxBytes: 1024 * 1024 });
      await ok.commit();
      expect(await store.has(ok.sha256)).toBe(true);
    } finally {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });
});
