import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../test/support/s3.js';
import { blobStoreContract } from './blob-store.contract.js';
import { S3BlobStore } from './s3-blob-store.js';

let s3: S3Server;
let scratch: string;
const stores: S3BlobStore[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  scratch = await mkdtemp(path.join(tmpdir(), 'mosis-s3-store-'));
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await s3?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A store on a prefix of its own, with a local directory of its own. */
function open(options: { prefix?: string; now?: () => Date } = {}): { store: S3BlobStore; prefix: string; localDir: string } {
  const prefix = options.prefix ?? `t-${randomUUID()}`;
  const localDir = path.join(scratch, randomUUID());
  const store = new S3BlobStore(
    { bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
    { localDir, partSize: 5 * MiB, queueSize: 2, ...(options.now ? { now: options.now } : {}) },
  );
  stores.push(store);
  return { store, prefix, localDir };
}

async function keys(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of page.Contents ?? []) found.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found.sort();
}

async function localLeftovers(localDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ['uploads', 'downloads']) for (const name of await readdir(path.join(localDir, sub)).catch(() => [])) found.push(`${sub}/${name}`);
  return found;
}

blobStoreContract('S3BlobStore', () => {
  const { store, prefix, localDir } = open();
  return Promise.resolve({
    store,
    leftovers: async () => [...(await keys(`${prefix}/staging`)), ...(await localLeftovers(localDir))],
  });
});

describe('S3BlobStore', () => {
  it('stores a large upload by multipart under <prefix>/sha256/ab/cd/<hash>, nothing else left, and serves it from its local copy once', async () => {
    const { store, prefix, localDir } = open({ prefix: `deep/${randomUUID()}` });
    // Three parts of 5 MiB (the last short), from chunks of sizes that straddle the part boundaries.
    const data = randomBytes(12 * MiB + 5);
    const chunks: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; i += 1) {
      const length = [1, 65_536, 100_003, 7][i % 4]!;
      chunks.push(data.subarray(at, at + length));
      at += length;
    }
    const staged = await store.stage(Readable.from(chunks), { maxBytes: 20 * MiB });
    expect(await keys(prefix)).toHaveLength(1); // the staging key, nothing at a content address yet
    await staged.commit();
    const key = `${prefix}/sha256/${staged.sha256.slice(0, 2)}/${staged.sha256.slice(2, 4)}/${staged.sha256}`;
    expect(await keys(prefix)).toEqual([key]);
    const body = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(sha(Buffer.from(await body.Body!.transformToByteArray()))).toBe(sha(data));
    // The check right after the commit reads the upload's own local bytes, not a download.
    expect(await readdir(path.join(localDir, 'committed'))).toEqual([staged.sha256]);
    const local = await store.localFile(staged.sha256);
    expect(await readdir(path.join(localDir, 'committed'))).toEqual([]);
    await local!.release();
    expect(await localLeftovers(localDir)).toEqual([]);
  });

  it('stores every size whole: empty, one byte, past the first buffer, one part exactly, one part and a byte', async () => {
    const { store, prefix } = open();
    for (const size of [0, 1, 64 * 1024 + 1, 5 * MiB, 5 * MiB + 1]) {
      const data = randomBytes(size);
      const chunks: Buffer[] = [];
      for (let at = 0; at < size; at += 99_999) chunks.push(data.subarray(at, at + 99_999));
      const staged = await store.stage(Readable.from(chunks), { maxBytes: 6 * MiB });
      await staged.commit();
      const body = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/sha256/${staged.sha256.slice(0, 2)}/${staged.sha256.slice(2, 4)}/${staged.sha256}` }));
      expect(sha(Buffer.from(await body.Body!.transformToByteArray())), `${size} bytes`).toBe(sha(data));
    }
  });

  it('keeps only the newest 16 committed copies: commits no check reads (an import, a restore) do not copy the bucket onto local disk', async () => {
    const { store, localDir } = open();
    const hashes: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const staged = await store.stage(Readable.from([Buffer.from(`blob ${i}`)]), { maxBytes: 100 });
      await staged.commit();
      hashes.push(staged.sha256);
    }
    const committed = await readdir(path.join(localDir, 'committed'));
    expect(committed).toHaveLength(16);
    // A blob whose copy was swept is read from the bucket instead.
    const swept = hashes.find((h) => !committed.includes(h))!;
    const local = await store.localFile(swept);
    expect((await readFile(local!.path)).toString()).toBe(`blob ${hashes.indexOf(swept)}`);
    await local!.release();
  });

  it('leaves nothing under sha256/ nor staging/ when a multipart upload is cut off', async () => {
    const { store, prefix, localDir } = open();
    let sent = 0;
    const cut = new Readable({
      read() {
        sent += MiB;
        if (sent > 11 * MiB) this.destroy(new Error('client went away'));
        else this.push(Buffer.alloc(MiB, sent % 256));
      },
    });
    await expect(store.stage(cut, { maxBytes: 100 * MiB })).rejects.toThrow();
    expect(await keys(prefix)).toEqual([]);
    expect(await localLeftovers(localDir)).toEqual([]);
  });

  it('sweeps staging keys only once they are a day old: other instances upload into the same bucket', async () => {
    const { store: today, prefix } = open();
    const { store: tomorrow } = open({ prefix, now: () => new Date(Date.now() + 25 * 3600_000) });
    await s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/staging/${randomUUID()}`, Body: 'an upload in flight' }));
    await today.sweepStaging();
    expect(await keys(`${prefix}/staging`)).toHaveLength(1);
    expect(await tomorrow.sweepStaging()).toBeGreaterThanOrEqual(1);
    expect(await keys(`${prefix}/staging`)).toEqual([]);
  });

  it('presigns a download URL that serves the bytes under the given file name', async () => {
    const { store } = open();
    const staged = await store.stage(Readable.from([Buffer.from('bytes from the bucket')]), { maxBytes: 100 });
    await staged.commit();
    const url = await store.downloadUrl(staged.sha256, { fileName: 'com.example.app-3.mosis', seconds: 60 });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="com.example.app-3.mosis"');
    expect(await res.text()).toBe('bytes from the bucket');
  });

  it('stops reading an upload while the bucket does not keep up, and answers 503 once it stops answering', async () => {
    // A "bucket" that takes every byte and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const localDir = path.join(scratch, randomUUID());
      const store = new S3BlobStore(
        { bucket: s3.bucket, prefix: 'silent', endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
        { localDir, partSize: 5 * MiB, queueSize: 2, idleTimeoutMs: 400 },
      );
      stores.push(store);
      let produced = 0;
      const endless = new Readable({
        read() {
          produced += 256 * 1024;
          this.push(Buffer.alloc(256 * 1024, produced % 255));
        },
      });
      const error = await store.stage(endless, { maxBytes: 1024 * MiB }).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'storage_unavailable' });
      // Held back: a part or two and the buffers, not everything the client could send in that time.
      expect(produced).toBeLessThan(32 * MiB);
      expect(await localLeftovers(localDir)).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('probes writability from several instances at once, again and again, leaving one probe object', async () => {
    const prefix = `t-${randomUUID()}`;
    const instances = [open({ prefix }).store, open({ prefix }).store, open({ prefix }).store];
    // A probe that deleted its object raced the others' writes: s3rver crashed on it.
    for (let round = 0; round < 15; round++) await Promise.all(instances.flatMap((store) => [store.checkWritable(), store.checkWritable()]));
    expect(await keys(prefix)).toEqual([`${prefix}/readyz`]);
  });

  it('answers 503 storage_unavailable while the bucket is down, leaving no local file, and works again once it is back', async () => {
    const { store, localDir } = open();
    const staged = await store.stage(Readable.from([Buffer.from('stored before')]), { maxBytes: 100 });
    await staged.commit();
    await s3.kill();
    try {
      await expect(store.checkWritable()).rejects.toMatchObject({ status: 503, code: 'storage_unavailable' });
      await expect(store.stage(Readable.from([Buffer.alloc(1024)]), { maxBytes: 4096 })).rejects.toMatchObject({ status: 503, code: 'storage_unavailable' });
      await expect(store.open(staged.sha256)).rejects.toMatchObject({ status: 503, code: 'storage_unavailable' });
      await expect(store.has(staged.sha256)).rejects.toMatchObject({ status: 503 });
      expect(await localLeftovers(localDir)).toEqual([]);
    } finally {
      await s3.start();
    }
    await store.checkWritable();
    expect(await store.has(staged.sha256)).toBe(true);
  });
});
