import { access, constants, mkdir, open, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore, LocalBlobFile, StagedBlob, StageOptions } from './blob-store.js';
import type { BlobUsage } from './blob-store.js';
import { Piscina } from 'piscina';
import { workerModule } from '../shared/index.js';
import type { UsageTask } from './blob-usage-thread.js';
import { isNotFound, PRIVATE_DIR, readdirOrEmpty, stageFile, storageError, sweepAbandoned } from './staging.js';

const HASH = /^[0-9a-f]{64}$/;
const STAGING = '.staging';
/** usage()'s thread holds a few directory listings at a time. */
const USAGE_THREAD_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 };

/**
 * Blobs on the local filesystem at `<root>/sha256/ab/cd/<hash>`. Staging files live in
 * `<root>/.staging` so that the final rename stays on one filesystem and is atomic.
 */
export class FsBlobStore implements BlobStore {
  private readonly stagingDir: string;

  constructor(private readonly root: string) {
    this.stagingDir = path.join(root, STAGING);
  }

  async stage(source: Readable, options: StageOptions): Promise<StagedBlob> {
    const { file, sha256, size } = await stageFile(source, this.stagingDir, options);
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
      size,
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

  open(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    return Promise.resolve(this.read(sha256, range));
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

  /** Removes this host's dead processes' staging files, and any other once idle for `idleMs`. */
  sweepStaging(options: { idleMs?: number } = {}): Promise<number> {
    return sweepAbandoned(this.stagingDir, options.idleMs ?? 0);
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
