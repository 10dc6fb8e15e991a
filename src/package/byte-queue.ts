const SMALL_CHUNK_BYTES = 4096;
const COALESCE_BYTES = 64 * 1024;

/**
 * The bytes of a stream between a producer that pushes chunks as they arrive and one consumer
 * that reads them at its own pace, with backpressure: push() asks the producer to wait once more
 * than `highWater` bytes are queued, until the consumer has brought it down to half of that.
 * Chunks are kept as they are (no copies) and must not be changed after they are pushed.
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private skipped = 0;
  /** Bytes queued. */
  length = 0;
  /** Offset in the stream of the first queued byte. */
  position = 0;
  private ended = false;
  private closed = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;
  /** The buffer small chunks are copied into, and how much of it is used. */
  private tail: Buffer | null = null;
  private tailUsed = 0;

  constructor(private readonly highWater: number) {}

  /** Queues a chunk; a returned promise resolves when the producer may push again. */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.closed || chunk.length === 0) return undefined;
    if (chunk.length < SMALL_CHUNK_BYTES) this.pushSmall(chunk);
    else this.chunks.push(chunk);
    this.length += chunk.length;
    this.notifyConsumer();
    if (this.length <= this.highWater) return undefined;
    return new Promise((resolve) => {
      this.wakeProducer = resolve;
    });
  }

  /**
   * Tiny chunks (a client sending a few bytes per packet) are copied together, so that the queue
   * holds a few hundred chunks at most and every walk over it stays cheap.
   */
  private pushSmall(chunk: Buffer): void {
    if (this.tail === null || this.tailUsed + chunk.length > this.tail.length) {
      this.tail = Buffer.allocUnsafeSlow(COALESCE_BYTES);
      this.tailUsed = 0;
    }
    const start = this.tailUsed;
    chunk.copy(this.tail, start);
    this.tailUsed += chunk.length;
    const last = this.chunks.at(-1);
    // Only bytes past the ones handed out are written, so views given out before stay valid; the
    // last queued chunk grows when it ends where these bytes start (the tail owns its memory).
    if (last !== undefined && last.buffer === this.tail.buffer && last.byteOffset + last.length === start) {
      this.chunks[this.chunks.length - 1] = this.tail.subarray(last.byteOffset, this.tailUsed);
    } else {
      this.chunks.push(this.tail.subarray(start, this.tailUsed));
    }
  }

  /** No more chunks will come. */
  end(): void {
    this.ended = true;
    this.notifyConsumer();
  }

  /** The consumer is gone: everything queued is dropped and every later chunk ignored. */
  close(): void {
    this.closed = true;
    this.ended = true;
    this.chunks.length = 0;
    this.length = 0;
    this.notifyProducer();
    this.notifyConsumer();
  }

  /** Waits until at least `n` bytes are queued; false when the stream ends first. */
  async need(n: number): Promise<boolean> {
    while (this.length < n) {
      if (this.ended) return false;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
    return true;
  }

  /** The first `n` queued bytes (n ≤ length) as one buffer: a view when they lie in one chunk, else a copy. */
  peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.skipped >= n) return first.subarray(this.skipped, this.skipped + n);
    return Buffer.concat(this.views(n), n);
  }

  /** Views of the first queued bytes, at most `max` in all. */
  views(max: number): Buffer[] {
    const views: Buffer[] = [];
    let left = Math.min(max, this.length);
    for (let i = 0; left > 0; i += 1) {
      const chunk = this.chunks[i] as Buffer;
      const start = i === 0 ? this.skipped : 0;
      const view = chunk.subarray(start, start + Math.min(left, chunk.length - start));
      views.push(view);
      left -= view.length;
    }
    return views;
  }

  /** Consumes the first `n` bytes (n ≤ length). */
  skip(n: number): void {
    this.length -= n;
    this.position += n;
    let left = n + this.skipped;
    while (this.chunks.length > 0 && left >= (this.chunks[0] as Buffer).length) {
      left -= (this.chunks.shift() as Buffer).length;
    }
    this.skipped = left;
    if (this.length <= this.highWater / 2) this.notifyProducer();
  }

  private notifyConsumer(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }

  private notifyProducer(): void {
    const wake = this.wakeProducer;
    this.wakeProducer = null;
    wake?.();
  }
}
