import type { FileHandle } from 'node:fs/promises';

/**
 * Positional reads of the package file through one reusable window. Checking a package means
 * thousands of small reads (every local header, data descriptor and small entry) that lie in
 * file order; serving them from a 1 MiB window turns thousands of thread-pool round trips into a
 * few dozen reads, while never holding more than the window (reads larger than it go straight
 * to the file). One reader serves one sequence of reads: it is not for concurrent use.
 */
export class FileReader {
  // Allocated once and refilled: a fresh megabyte per refill would keep the garbage collector busy.
  private readonly buffer: Buffer;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly windowBytes = 1024 * 1024,
  ) {
    this.buffer = Buffer.allocUnsafe(windowBytes);
  }

  /**
   * Exactly `length` bytes at `position`. The result may be a view of the window, which the next
   * read overwrites: use it before reading again, or copy it.
   */
  async read(position: number, length: number): Promise<Buffer> {
    const end = position + length;
    if (position >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(position - this.windowStart, end - this.windowStart);
    }
    if (length > this.windowBytes) return this.fill(Buffer.allocUnsafe(length), position);
    // Forget the old window first: if the read fails half-way, no stale bytes may be served.
    this.window = Buffer.alloc(0);
    const fill = Math.min(this.windowBytes, Math.max(length, this.size - position));
    this.window = await this.fill(this.buffer.subarray(0, fill), position);
    this.windowStart = position;
    return this.window.subarray(0, length);
  }

  private async fill(buffer: Buffer, position: number): Promise<Buffer> {
    const length = buffer.length;
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}: the package changed while it was being checked`);
      done += bytesRead;
    }
    return buffer;
  }
}
