import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface MultipartTarget {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Bytes of one part (S3's minimum is 5 MiB, but the last part). */
  readonly partSize: number;
  /** The writer holds (queueSize + 1) part buffers: one filling while the others are sent, or all sent at once. */
  readonly queueSize: number;
}

/** The first buffer's first size: a small upload (an icon, a screenshot) does not reserve a whole part. */
const FIRST_BUFFER_BYTES = 64 * 1024;
/** Cleanup requests (aborting the multipart upload) give up after this: the client's answer waits for them. */
const CLEANUP_TIMEOUT_MS = 10_000;

/**
 * An object written to a bucket chunk by chunk, as a multipart upload whose parts are sent while
 * the next ones fill. Each chunk is copied into one of (queueSize + 1) part buffers the writer
 * reuses for the whole upload: the incoming chunks die young (as they do on the filesystem store),
 * and no part is allocated anew, so the upload's memory is its buffers, not a growing heap of
 * concatenated parts awaiting V8's next full collection (lib-storage's Upload grew the server by
 * some 75 MiB for a 500 MiB package). The first buffer starts small and grows to a part, so an
 * upload that stalls after a byte holds 64 KiB, not a part. An object smaller than one part is
 * one PutObject.
 *
 * `write` answers a promise while every buffer is full or in flight (the caller waits: the client
 * is held back, not buffered), and rejects once a request failed. Nothing is visible at `key`
 * before `end` completes; `abort` abandons the multipart upload. (An abort that cancels
 * CreateMultipartUpload after the bucket made it leaves that upload to the bucket's lifecycle rule,
 * docs/storage-s3.md, or to the store's day-old sweep.)
 */
export class MultipartWriter {
  private readonly free: Buffer[] = [];
  private buffers = 0;
  private current: Buffer | undefined;
  private filled = 0;
  private partNumber = 0;
  private uploadId: Promise<string> | undefined;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private readonly controller = new AbortController();

  constructor(private readonly target: MultipartTarget) {
    if (!(Number.isInteger(target.partSize) && target.partSize >= 1 && Number.isInteger(target.queueSize) && target.queueSize >= 1)) {
      throw new Error(`a multipart upload needs a whole positive part size and queue size, not ${target.partSize} and ${target.queueSize}`);
    }
  }

  /** The first failed request's error, if one failed. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Copies `chunk` into the part buffers; a promise when the caller must wait before the next. */
  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let offset = 0;
    while (offset < chunk.length) {
      const buffer = this.bufferToFill();
      if (buffer === undefined) return this.slot().then(() => this.write(chunk.subarray(offset)));
      const copied = chunk.copy(buffer, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled < buffer.length) continue;
      if (buffer.length < this.target.partSize) this.grow();
      else this.sendPart();
    }
    return undefined;
  }

  /** Sends what is left and completes the upload: the object then exists at `key`, whole. */
  async end(): Promise<void> {
    const { client, bucket, key } = this.target;
    if (this.failure !== undefined) throw this.failure;
    if (this.uploadId === undefined) {
      // Smaller than one part: one request, visible only once whole.
      const body = this.current?.subarray(0, this.filled) ?? Buffer.alloc(0);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/octet-stream' }), { abortSignal: this.controller.signal });
      return;
    }
    if (this.filled > 0) this.sendPart();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    // (Read through the getter: set by the requests while this waited.)
    const failed = this.failed;
    if (failed !== undefined) throw failed;
    const UploadId = await this.uploadId;
    const Parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts } }), { abortSignal: this.controller.signal });
  }

  /** Stops every request under way and abandons the multipart upload (its parts are deleted). */
  async abort(): Promise<void> {
    this.failure ??= new Error('the upload was abandoned');
    this.controller.abort();
    await Promise.allSettled(this.inFlight);
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (uploadId === undefined) return;
    const { client, bucket, key } = this.target;
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) })
      .catch(() => undefined);
  }

  /** The buffer being filled, a free one, or a new one while fewer than (queueSize + 1) exist. */
  private bufferToFill(): Buffer | undefined {
    if (this.current !== undefined) return this.current;
    let next = this.free.pop();
    if (next === undefined && this.buffers <= this.target.queueSize) {
      // Not zeroed: every byte sent is one copied in first.
      next = Buffer.allocUnsafeSlow(this.buffers === 0 ? Math.min(FIRST_BUFFER_BYTES, this.target.partSize) : this.target.partSize);
      this.buffers += 1;
    }
    if (next === undefined) return undefined;
    this.current = next;
    this.filled = 0;
    return next;
  }

  /**
   * The first buffer, full before a whole part arrived: sixteen times the size (64 KiB, 1 MiB, then
   * a part), its bytes kept. Doubling instead left twice a part of garbage per upload, which
   * measurably raised the peak RSS (bench/README.md); at sixteen an upload holds at most sixteen
   * times what it sent.
   */
  private grow(): void {
    const grown = Buffer.allocUnsafeSlow(Math.min(this.current!.length * 16, this.target.partSize));
    this.current!.copy(grown, 0, 0, this.filled);
    this.current = grown;
  }

  /** Waits until a part request settles (a buffer is free again), or rejects with the failure. */
  private async slot(): Promise<void> {
    await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private sendPart(): void {
    const buffer = this.current!;
    const body = buffer.subarray(0, this.filled);
    this.current = undefined;
    this.filled = 0;
    const PartNumber = ++this.partNumber;
    const { client, bucket, key } = this.target;
    const abortSignal = this.controller.signal;
    this.uploadId ??= client
      .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }), { abortSignal })
      .then(({ UploadId }) => {
        if (!UploadId) throw new Error('the bucket answered no UploadId');
        return UploadId;
      });
    const sent: Promise<void> = this.uploadId
      .then((UploadId) => client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body, ContentLength: body.length }), { abortSignal }))
      .then(
        ({ ETag }) => {
          this.parts.push({ PartNumber, ETag });
        },
        (err: unknown) => {
          this.failure ??= err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => {
        this.inFlight.delete(sent);
        this.free.push(buffer);
      });
    this.inFlight.add(sent);
  }
}
