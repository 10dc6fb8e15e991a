import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { AppError, commonError, payloadTooLarge } from '../shared/index.js';
import type { BlobStore, LocalBlobFile, StagedBlob, StageOptions } from './blob-store.js';
import type { BlobUsage } from './blob-store.js';
import { Piscina } from 'piscina';
import { workerModule } from '../shared/index.js';
import type { UsageTask } from './blob-usage-thread.js';

const HASH = /^[0-9a-f]{64}$/;
const STAGING = '.staging';
/**
 * Staging files are named `<host>.<pid>.<time>-<random>.part`: the instance sweeping at start can
 * tell its own host's dead processes' leftovers (removed at once) from the in-flight uploads of
 * other instances sharing the directory (kept until idle for longer than any request may last).
 */
const HOST_TAG = hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64) || 'host';
const STAGING_NAME = /^([A-Za-z0-9_-]+)\.(\d+)\.\d+-[0-9a-f]+\.part$/;
// How much of an upload may wait in memory for the disk: enough that receiving the next chunks
// overlaps writing the last ones, small enough that an upload costs a couple of MiB at most.
const BUFFER_BYTES = 1024 * 1024;
/** usage()'s thread holds a few directory listings at a time. */
const USAGE_THREAD_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 };

/** Packages are the developers' unpublished work: only the portal's own user reads them. */
const PRIVATE_DIR = { recursive: true, mode: 0o700 } as const;

/**
 * Blobs on the local filesystem at `<root>/sha256/ab/cd/<hash>`. Staging files live in
 * `<root>/.staging` so that the final rename stays on one filesystem and is atomic.
 */
export class FsBlobStore implements BlobStore {
  private readonly stagingDir: string;

  constructor(private readonly root: string) {
    this.stagingDir = path.join(root, STAGING);
  }

  async stage(source: Readable, { maxBytes, observe }: StageOptions): Promise<StagedBlob> {
    await mkdir(this.stagingDir, PRIVATE_DIR);
    const file = path.join(this.stagingDir, `${HOST_TAG}.${process.pid}.${Date.now()}-${randomBytes(8).toString('hex')}.part`);
    const meter = new HashingMeter(maxBytes, observe);
    const sink = createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: BUFFER_BYTES });
    const written = pipeline(meter, sink);
    // The source is piped, not pipelined: a refusal must not destroy it, since for an HTTP upload
    // that would reset the socket the 413 still has to go out on. A source that dies (client
    // disconnect) still fails the write.
    finished(source, { writable: false }).catch((err: unknown) => meter.destroy(err as Error));
    source.pipe(meter);
    try {
      await written;
    } catch (err) {
      source.unpipe(meter);
      // A refusal in the first chunks can come while the file is still being opened: removed before
      // the stream has closed, it would be created after the removal and stay behind.
      if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
      await rm(file, { force: true });
      throw storageError(err);
    }
    const sha256 = meter.digest();
    const target = this.pathOf(sha256);
    // A committed blob must survive a power cut, so its bytes reach the disk before the rename.
    // The fsync starts now and runs while the caller checks the staged file: most of its cost
    // hides behind the package checks instead of adding to them.
    const synced: Promise<Error | null> = fsyncFile(file).then(
      () => null,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    let done = false;
    return {
      sha256,
      size: meter.bytes,
      path: file,
      commit: async () => {
        if (done) return;
        try {
          const syncError = await synced;
          if (syncError !== null) throw syncError;
          await mkdir(path.dirname(target), PRIVATE_DIR);
          if (await exists(target)) {
            await unlink(file);
            // Re-committed content counts as new for the garbage collector's grace period.
            const now = new Date();
            await utimes(target, now, now);
          } else {
            await rename(file, target);
          }
          await fsyncDir(path.dirname(target));
        } catch (err) {
          await rm(file, { force: true });
          throw storageError(err);
        }
        done = true;
      },
      discard: async () => {
        done = true;
        await synced;
        await rm(file, { force: true });
      },
    };
  }

  has(sha256: string): Promise<boolean> {
    return exists(this.pathOf(sha256));
  }

  async size(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async storedAt(sha256: string): Promise<Date | null> {
    try {
      return (await stat(this.pathOf(sha256))).mtime;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  read(sha256: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(sha256), range);
  }

  async localFile(sha256: string): Promise<LocalBlobFile | null> {
    const file = this.pathOf(sha256);
    // Stored blobs are never rewritten in place (content addressing), so reading it directly is safe.
    return (await exists(file)) ? { path: file, release: () => Promise.resolve() } : null;
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async *list(): AsyncIterable<string> {
    const base = path.join(this.root, 'sha256');
    for (const a of await readdirOrEmpty(base)) {
      for (const b of await readdirOrEmpty(path.join(base, a))) {
        for (const name of await readdirOrEmpty(path.join(base, a, b))) {
          if (HASH.test(name)) yield name;
        }
      }
    }
  }

  async sweepStaging(options: { idleMs?: number } = {}): Promise<number> {
    const idleMs = options.idleMs ?? 0;
    const now = Date.now();
    let removed = 0;
    for (const name of await readdirOrEmpty(this.stagingDir)) {
      const file = path.join(this.stagingDir, name);
      if (!abandoned(name)) {
        // Maybe another instance's upload (a shared directory): only once it cannot be alive any more.
        const modified = await stat(file).then((s) => s.mtimeMs, () => null);
        if (modified === null || now - modified < idleMs) continue;
      }
      await rm(file, { force: true });
      removed += 1;
    }
    return removed;
  }

  async checkWritable(): Promise<void> {
    await mkdir(this.stagingDir, PRIVATE_DIR);
    await access(this.stagingDir, constants.W_OK);
  }

  /** Every blob's size from the filesystem, walked on a thread of its own (blob-usage-thread.ts), ended after. */
  async usage(): Promise<BlobUsage> {
    const pool = new Piscina<UsageTask, BlobUsage>({ ...workerModule('storage/blob-usage-thread'), minThreads: 0, maxThreads: 1, resourceLimits: USAGE_THREAD_LIMITS });
    try {
      return await pool.run({ base: path.join(this.root, 'sha256') });
    } finally {
      await pool.destroy();
    }
  }

  private pathOf(sha256: string): string {
    if (!HASH.test(sha256)) throw new Error(`not a sha256 hex digest: ${sha256}`);
    return path.join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }
}

/**
 * A staging file left by a process of this host that is gone (or by this very process, which sweeps
 * before it serves any upload).
 */
function abandoned(name: string): boolean {
  const match = STAGING_NAME.exec(name);
  if (!match || match[1] !== HOST_TAG) return false;
  const pid = Number(match[2]);
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: alive, as another user.
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/** Hashes and counts bytes as they pass, failing the stream as soon as the limit is crossed. */
class HashingMeter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly maxBytes: number,
    private readonly observe: StageOptions['observe'],
  ) {
    super({ highWaterMark: BUFFER_BYTES });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(payloadTooLarge(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    // Passed on before the observer runs, so the disk write and the observer overlap.
    this.push(chunk);
    const wait = this.observe?.(chunk);
    if (wait === undefined) callback();
    else wait.then(() => callback(), callback);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

function storageError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return commonError('insufficient_storage', 'The server has no space left to store this upload; try again later.');
  return err;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
