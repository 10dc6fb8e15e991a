import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import path from 'node:path';
import { PassThrough, pipeline as pipelineCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError, commonError } from '../shared/index.js';
import type { BlobStore, BlobUsage, DownloadUrlOptions, LocalBlobFile, StagedBlob, StageOptions } from './blob-store.js';
import type { StorageConfig } from '../config/index.js';
import { MultipartWriter } from './s3-multipart.js';
import { isNotFound, PRIVATE_DIR, readdirOrEmpty, stageFile, sweepAbandoned, sweepDir } from './staging.js';

/** The S3 settings the store needs (Config.storage when its kind is 's3'). */
export type S3StoreSettings = Pick<Extract<StorageConfig, { kind: 's3' }>, 'bucket' | 'prefix' | 'endpoint' | 'region' | 'forcePathStyle' | 'credentials'>;

export interface S3StoreOptions {
  /** This instance's own local directory: staging files, committed uploads kept for their checks, downloads. */
  readonly localDir: string;
  /** Bytes of one multipart part (default 5 MiB, S3's minimum); an upload holds (queueSize + 1) of them in memory. */
  readonly partSize?: number;
  readonly queueSize?: number;
  /** A request whose socket is idle this long fails (a bucket that stopped answering); default two minutes. */
  readonly idleTimeoutMs?: number;
  readonly now?: () => Date;
}

const HASH = /^[0-9a-f]{64}$/;
const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
/** A committed upload's local copy waits this long for its check before it is swept. */
const COMMITTED_KEEP_MS = 60 * 60 * 1000;
/**
 * At most this many committed copies are kept, the newest: a run of commits no check reads (an
 * import, a restore, image uploads) must not copy the bucket onto local disk.
 */
const COMMITTED_KEEP_FILES = 16;
/** SigV4 presigned URLs are valid at most a week. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;
const PROBE_TIMEOUT_MS = 5000;
/** The start-up sweep of the bucket's staging keys gives up after this (the lifecycle rule is the backstop). */
const SWEEP_BUCKET_MS = 30_000;

/**
 * Blobs in an S3-compatible bucket at `<prefix>/sha256/ab/cd/<hash>`. An upload is written to a
 * local staging file (the checks need random access) and, in the same pass, as a multipart upload
 * to `<prefix>/staging/<uuid>`; commit copies it to its content address (a copy is atomic, so
 * nothing partial is ever visible there) and deletes the staging key. Other instances share the
 * bucket, so only staging keys older than a day are ever swept.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly downloads: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly uploadsDir: string;
  private readonly committedDir: string;
  private readonly downloadsDir: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly now: () => Date;
  private probe: Promise<void> | undefined;

  constructor(settings: S3StoreSettings, options: S3StoreOptions) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix.replace(/^\/+|\/+$/g, '');
    this.uploadsDir = path.join(options.localDir, 'uploads');
    this.committedDir = path.join(options.localDir, 'committed');
    this.downloadsDir = path.join(options.localDir, 'downloads');
    this.partSize = options.partSize ?? 5 * MiB;
    this.queueSize = options.queueSize ?? 2;
    this.now = options.now ?? (() => new Date());
    const client = (maxSockets: number) => new S3Client({
      region: settings.region,
      ...(settings.endpoint === null ? {} : { endpoint: settings.endpoint }),
      forcePathStyle: settings.forcePathStyle,
      ...(settings.credentials === null ? {} : { credentials: { ...settings.credentials } }),
      maxAttempts: 3,
      // We hash every byte ourselves; the SDK's default CRC trailers (aws-chunked bodies) cost CPU
      // and are not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 5000,
        // Idle, not total: a proxied download to a slow device may take long, but not stall that long.
        socketTimeout: options.idleTimeoutMs ?? 120_000,
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      },
    });
    this.client = client(64);
    // A proxied download holds its socket for as long as the device reads: a pool of their own, so
    // slow readers cannot leave uploads, checks and the readiness probe waiting for a socket.
    this.downloads = client(256);
  }

  async stage(source: Readable, options: StageOptions): Promise<StagedBlob> {
    const stagingKey = this.key(`staging/${randomUUID()}`);
    // Each chunk is copied into the multipart upload's part buffers as it is metered; while they are
    // all in flight the meter waits, so the client is held back and memory stays (queueSize + 1) parts.
    const writer = new MultipartWriter({ client: this.client, bucket: this.bucket, key: stagingKey, partSize: this.partSize, queueSize: this.queueSize });
    const observe = (chunk: Buffer): Promise<void> | undefined => {
      const theirs = options.observe?.(chunk);
      const ours = writer.write(chunk);
      if (theirs === undefined) return ours;
      if (ours === undefined) return theirs;
      return Promise.all([theirs, ours]).then(() => undefined);
    };

    let staged: Awaited<ReturnType<typeof stageFile>>;
    try {
      staged = await stageFile(source, this.uploadsDir, { maxBytes: options.maxBytes, observe });
    } catch (err) {
      // The bucket's failure, if that is what stopped the upload (not the refusal below).
      const bucketFailure = writer.failed;
      // Stops requests under way (even one the bucket never answers) and abandons the multipart upload.
      await writer.abort();
      await this.deleteQuietly(stagingKey);
      if (bucketFailure !== undefined && !(err instanceof AppError && err.status !== 503)) throw unavailable(bucketFailure);
      throw err;
    }
    try {
      await writer.end();
    } catch (err) {
      await writer.abort();
      await rm(staged.file, { force: true });
      await this.deleteQuietly(stagingKey);
      throw unavailable(err);
    }

    const { sha256, size, file } = staged;
    let state: 'staged' | 'committed' | 'discarded' = 'staged';
    return {
      sha256,
      size,
      path: file,
      commit: async () => {
        if (state !== 'staged') return;
        try {
          // Copied even when the content is stored already: the copy's new LastModified is what tells
          // the garbage collector that this content was just committed again (its grace period).
          await this.call((c) => c.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256), CopySource: this.copySource(stagingKey), ContentType: 'application/octet-stream', MetadataDirective: 'REPLACE' })));
        } catch (err) {
          state = 'discarded';
          await rm(file, { force: true });
          await this.deleteQuietly(stagingKey);
          throw err;
        }
        state = 'committed';
        await this.deleteQuietly(stagingKey);
        // Kept for the package checks, which read it right after the commit: no download from the bucket.
        await mkdir(this.committedDir, PRIVATE_DIR);
        await rename(file, path.join(this.committedDir, sha256)).catch(() => rm(file, { force: true }));
        await this.sweepCommitted();
      },
      discard: async () => {
        if (state !== 'staged') return;
        state = 'discarded';
        await rm(file, { force: true });
        await this.deleteQuietly(stagingKey);
      },
    };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.head(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    return (await this.head(sha256))?.size ?? null;
  }

  async storedAt(sha256: string): Promise<Date | null> {
    return (await this.head(sha256))?.lastModified ?? null;
  }

  read(sha256: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    this.open(sha256, range).then(
      (body) => pipelineCallback(body, out, () => undefined),
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  async open(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    const answer = await this.call((c) => c.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
    ), this.downloads);
    return answer.Body as Readable;
  }

  async localFile(sha256: string): Promise<LocalBlobFile | null> {
    const cached = path.join(this.committedDir, sha256);
    if ((await this.head(sha256)) === null) {
      await rm(cached, { force: true });
      return null;
    }
    await mkdir(this.downloadsDir, PRIVATE_DIR);
    const file = path.join(this.downloadsDir, `${randomUUID()}.blob`);
    const release = () => rm(file, { force: true });
    try {
      // The upload's own staged bytes, claimed by a rename so that only one caller takes them.
      await rename(cached, file);
      return { path: file, release };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await pipeline(await this.open(sha256), createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      await release();
      if (isMissing(err)) return null;
      throw err instanceof AppError ? err : unavailable(err);
    }
    return { path: file, release };
  }

  async delete(sha256: string): Promise<void> {
    await this.call((c) => c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256) })));
  }

  async *list(): AsyncIterable<string> {
    for await (const object of this.objects('sha256/')) {
      const hash = this.hashOf(object.key);
      if (hash !== null) yield hash;
    }
  }

  async usage(): Promise<BlobUsage> {
    let blobs = 0;
    let bytes = 0;
    for await (const object of this.objects('sha256/')) {
      if (this.hashOf(object.key) === null) continue;
      blobs += 1;
      bytes += object.size;
    }
    return { blobs, bytes };
  }

  /**
   * Leftovers of uploads and downloads a day old (locally and, staging keys and multipart uploads,
   * in the bucket; committed uploads no check claimed after an hour): anything younger may belong
   * to an upload in flight on another instance sharing the bucket, or DATA_DIR.
   */
  async sweepStaging(options: { idleMs?: number } = {}): Promise<number> {
    const cutoff = this.now().getTime() - DAY_MS;
    // Staging files as on the filesystem store: a dead process's at once (a kill -9 mid-upload of
    // 5 GiB must not hold the disk for a day), another live instance's only once idle.
    let swept = (await sweepAbandoned(this.uploadsDir, options.idleMs ?? 0)) + (await sweepDir(this.downloadsDir, new Date(cutoff))) + (await this.sweepCommitted());
    // The bucket's part is bounded: `serve` sweeps before it listens, and a bucket that takes
    // connections but never answers must not hold the start for the requests' idle timeouts.
    const abortSignal = AbortSignal.timeout(SWEEP_BUCKET_MS);
    for await (const object of this.objects('staging/', abortSignal)) {
      if (object.lastModified.getTime() >= cutoff) continue;
      await this.deleteQuietly(object.key);
      swept += 1;
    }
    try {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await this.call((c) => c.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.key('staging/'), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }), { abortSignal }));
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined || (u.Initiated?.getTime() ?? 0) >= cutoff) continue;
          await this.call((c) => c.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }), { abortSignal })).catch(() => undefined);
          swept += 1;
        }
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (err) {
      // Some servers (s3rver) do not list multipart uploads; a bucket lifecycle rule aborts them there.
      if (!isNotImplemented(err)) throw err;
    }
    return swept;
  }

  /**
   * Writes the probe object `<prefix>/readyz`. Every instance overwrites the same key and none
   * deletes it: a delete raced other instances' writes (s3rver removes a folder it just emptied
   * under a concurrent write, and crashed), a key per instance would pile up with restarts, and
   * one request per probe is half the cost. Probes asked for while one runs share it.
   */
  checkWritable(): Promise<void> {
    this.probe ??= this.call((c) => c.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key('readyz'), Body: 'ok' }), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }))
      .then(() => undefined)
      .finally(() => (this.probe = undefined));
    return this.probe;
  }

  async downloadUrl(sha256: string, { fileName, seconds }: DownloadUrlOptions): Promise<string> {
    const expiresIn = Math.max(1, Math.min(MAX_PRESIGN_SECONDS, Math.floor(seconds)));
    const safeName = fileName.replace(/[^A-Za-z0-9._-]/g, '_');
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.blobKey(sha256),
      ResponseContentDisposition: `attachment; filename="${safeName}"`,
      ResponseContentType: 'application/vnd.mosis.package',
    });
    return getSignedUrl(this.client, command, { expiresIn });
  }

  close(): Promise<void> {
    this.client.destroy();
    this.downloads.destroy();
    return Promise.resolve();
  }

  /** Every object under `<prefix>/<under>`, a page of ListObjectsV2 at a time. */
  private async *objects(under: string, abortSignal?: AbortSignal): AsyncIterable<{ key: string; size: number; lastModified: Date }> {
    let token: string | undefined;
    do {
      const page = await this.call((c) => c.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(under), ContinuationToken: token }), { abortSignal }));
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  private async head(sha256: string): Promise<{ size: number; lastModified: Date } | null> {
    try {
      const answer = await this.call((c) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(sha256) })));
      return { size: answer.ContentLength ?? 0, lastModified: answer.LastModified ?? new Date(0) };
    } catch (err) {
      if (err instanceof StoredBlobMissing) return null;
      throw err;
    }
  }

  /** Runs a request; a missing object becomes StoredBlobMissing, anything else from S3 storage_unavailable. */
  private async call<T>(request: (client: S3Client) => Promise<T>, client = this.client): Promise<T> {
    try {
      return await request(client);
    } catch (err) {
      if (isMissing(err)) throw new StoredBlobMissing(err);
      throw unavailable(err);
    }
  }

  private async deleteQuietly(key: string): Promise<void> {
    // Bounded: a refused upload's answer waits for this cleanup.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).catch(() => undefined);
  }

  /** Removes committed uploads no check claimed within the hour, and all but the newest COMMITTED_KEEP_FILES. */
  private async sweepCommitted(): Promise<number> {
    const now = this.now().getTime();
    const kept: { file: string; modified: number }[] = [];
    let swept = 0;
    for (const name of await readdirOrEmpty(this.committedDir)) {
      const file = path.join(this.committedDir, name);
      const info = await stat(file).catch(() => null);
      if (info === null) continue;
      if (now - info.mtimeMs < COMMITTED_KEEP_MS) kept.push({ file, modified: info.mtimeMs });
      else {
        await rm(file, { force: true });
        swept += 1;
      }
    }
    kept.sort((a, b) => b.modified - a.modified);
    for (const { file } of kept.slice(COMMITTED_KEEP_FILES)) {
      await rm(file, { force: true });
      swept += 1;
    }
    return swept;
  }

  private key(rest: string): string {
    return this.prefix === '' ? rest : `${this.prefix}/${rest}`;
  }

  /** Keys come only from validated hex digests. */
  private blobKey(sha256: string): string {
    if (!HASH.test(sha256)) throw new Error(`not a sha256 hex digest: ${sha256}`);
    return this.key(`sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
  }

  private hashOf(key: string): string | null {
    const hash = key.slice(key.lastIndexOf('/') + 1);
    return HASH.test(hash) && key === this.blobKey(hash) ? hash : null;
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }
}

/** A stored blob that is not there (NoSuchKey, 404): answered as "not stored" where the interface allows. */
class StoredBlobMissing extends Error {
  constructor(cause: unknown) {
    super('the blob is not stored', { cause });
  }
}

function isMissing(err: unknown): boolean {
  if (err instanceof StoredBlobMissing) return true;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function isNotImplemented(err: unknown): boolean {
  const cause = err instanceof AppError ? (err.cause as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined) : (err as { name?: string } | undefined);
  return cause?.name === 'NotImplemented' || (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 501;
}

/** What a client is told when the bucket is away or failing; the cause stays for the log. */
function unavailable(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const error = commonError('storage_unavailable', 'The package storage cannot be reached right now; try again shortly.');
  Object.defineProperty(error, 'cause', { value: err, enumerable: false });
  return error;
}
