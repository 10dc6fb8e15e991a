import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { AppError, commonError, payloadTooLarge } from '../shared/index.js';
import type { StageOptions } from './blob-store.js';

// How much of an upload may wait in memory for the disk: enough that receiving the next chunks
// overlaps writing the last ones, small enough that an upload costs a couple of MiB at most.
const BUFFER_BYTES = 1024 * 1024;

/**
 * Staging files are named `<host>.<pid>.<time>-<random>.part`: the instance sweeping at start can
 * tell its own host's dead processes' leftovers (removed at once) from the in-flight uploads of
 * other instances sharing the directory (kept until idle for longer than any request may last).
 */
const HOST_TAG = hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64) || 'host';
const STAGING_NAME = /^([A-Za-z0-9_-]+)\.(\d+)\.\d+-[0-9a-f]+\.part$/;

/** Packages are the developers' unpublished work: only the portal's own user reads them. */
export const PRIVATE_DIR = { recursive: true, mode: 0o700 } as const;

export interface StagedFile {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * Streams `source` into a new file in `dir` while hashing and counting it: the part of staging
 * every store shares (the filesystem store renames the file into place, the S3 store keeps it for
 * the checks while the bytes go to the bucket). Throws AppError 413 the moment more than
 * `maxBytes` arrive and 507 when the disk is full; in both cases the file is gone.
 */
export async function stageFile(source: Readable, dir: string, { maxBytes, observe }: StageOptions): Promise<StagedFile> {
  await mkdir(dir, PRIVATE_DIR);
  const file = path.join(dir, `${HOST_TAG}.${process.pid}.${Date.now()}-${randomBytes(8).toString('hex')}.part`);
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
  return { file, sha256: meter.digest(), size: meter.bytes };
}

/**
 * Removes the entries of a staging directory (left by a crash); answers how many there were. With
 * `before`, only entries last written before that time: the directory may be shared by instances
 * (DATA_DIR on a shared volume) whose uploads are in flight.
 */
export async function sweepDir(dir: string, before?: Date): Promise<number> {
  let swept = 0;
  await Promise.all(
    (await readdirOrEmpty(dir)).map(async (name) => {
      const entry = path.join(dir, name);
      if (before !== undefined) {
        const info = await stat(entry).catch(() => null);
        if (info === null || info.mtimeMs >= before.getTime()) return;
      }
      await rm(entry, { force: true, recursive: true });
      swept += 1;
    }),
  );
  return swept;
}

/**
 * Sweeps a staging directory that other instances may share (PACKAGES_DIR on a shared volume):
 * a file of this host's dead processes (or of this very process, which sweeps before it serves any
 * upload) goes at once, any other only once idle for `idleMs`. Answers how many went.
 */
export async function sweepAbandoned(dir: string, idleMs: number): Promise<number> {
  const now = Date.now();
  let removed = 0;
  for (const name of await readdirOrEmpty(dir)) {
    const file = path.join(dir, name);
    if (!abandoned(name)) {
      const modified = await stat(file).then((s) => s.mtimeMs, () => null);
      if (modified === null || (idleMs > 0 && now - modified < idleMs)) continue;
    }
    await rm(file, { force: true, recursive: true });
    removed += 1;
  }
  return removed;
}

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

export function storageError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return commonError('insufficient_storage', 'The server has no space left to store this upload; try again later.');
  return err;
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
