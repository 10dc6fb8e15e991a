import { finished } from 'node:stream/promises';
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import { ByteQueue } from './byte-queue.js';
import { resolveLimits, type PackageLimits } from './limits.js';
import { EntryHash, type EntryDigest } from './zip-data.js';
import {
  dataDescriptorLength,
  FLAG_DATA_DESCRIPTOR,
  FLAG_ENCRYPTED,
  FLAG_MASKED_HEADERS,
  FLAG_STRONG_ENCRYPTION,
  isLocalHeader,
  LOCAL_HEADER_FIXED_BYTES,
  localHeaderLength,
  METHOD_DEFLATE,
  METHOD_STORED,
  readLocalHeader,
  type LocalHeader,
} from './zip.js';

/**
 * Digests the entries of a package while it streams in, in the same pass that stores it: local
 * header after local header, every entry inflated and fed through the same EntryHash that
 * checkPackage uses. checkPackage (given the result as `scanned`) then reads the archive's
 * structure and parses its few text files, but does not inflate every entry a second time from
 * disk, which for a large package cost about as long as receiving it.
 *
 * Nothing the scan sees is trusted. A scanned digest is used only where the central directory,
 * read later from the stored file, places an entry at exactly the scanned bytes: same local header
 * offset, data offset, method, compressed size, inflated size and CRC-32. Nor does the scan report
 * problems: at the first thing it does not expect (no local header, an encrypted entry, a stored
 * entry whose length only a data descriptor gives, corrupt data, a limit passed) it stops, and
 * checkPackage digests the remaining entries from the file and reports what is wrong with them.
 */

export interface ScannedEntry {
  dataOffset: number;
  method: number;
  /** Compressed bytes that make up the entry's data. */
  compressedSize: number;
  crc32: number;
  digest: EntryDigest;
}

/** Scanned entries by the offset of their local header. */
export type ScannedEntries = ReadonlyMap<number, ScannedEntry>;

const MiB = 1024 * 1024;
// Bytes the scan may lag behind the upload before the upload waits for it.
const QUEUE_BYTES = 4 * MiB;
// A deflated entry is first inflated in one synchronous call over the bytes at hand (cheap for
// the many small files of a package); these are the windows tried, then the entry is streamed.
const SMALL_WINDOWS = [64 * 1024, MiB];
const SMALL_OUTPUT_BYTES = 4 * MiB;
// Compressed bytes handed to the inflater before waiting for it to catch up.
const STREAM_BATCH_BYTES = 256 * 1024;
// Deflate refers at most this far back; stored block header: 1 byte of BFINAL/BTYPE, LEN, NLEN.
const DEFLATE_WINDOW_BYTES = 32 * 1024;
const STORED_HEADER_BYTES = 5;
const MAX_RECENT_VIEWS = 64;
const INFLATE_CHUNK_BYTES = 64 * 1024;
// Deflate can expand a thousandfold. The scan inflates at most this many bytes per byte received
// (plus a start), so a small hostile upload cannot keep it busy; past that, checkPackage takes
// over, and refuses such a package from its declared sizes before inflating anything.
const MAX_EXPANSION = 32;
const EXPANSION_START_BYTES = 16 * MiB;

type ScanLimits = Pick<PackageLimits, 'maxEntries' | 'maxFileBytes' | 'maxTotalBytes'>;

/** The scan stops here: what follows is left to checkPackage. */
class StopScan extends Error {}

export class PackageStreamScan {
  private readonly queue = new ByteQueue(QUEUE_BYTES);
  private readonly entries = new Map<number, ScannedEntry>();
  private readonly limits: ScanLimits;
  private remainingTotal: number;
  private readonly done: Promise<void>;

  constructor(limits?: Partial<PackageLimits>) {
    this.limits = resolveLimits(limits);
    this.remainingTotal = this.limits.maxTotalBytes;
    // Never rejects: a scan that stops early only means more work for checkPackage.
    this.done = this.scan().catch(() => undefined).finally(() => this.queue.close());
  }

  /** The next bytes of the package. A returned promise asks the caller to wait before the next. */
  write(chunk: Buffer): Promise<void> | undefined {
    return this.queue.push(chunk);
  }

  /** The package is complete: the entries scanned, once the scan has caught up. */
  async end(): Promise<ScannedEntries> {
    this.queue.end();
    await this.done;
    return this.entries;
  }

  /** The upload failed: stop and let go of what is queued. */
  abort(): void {
    this.queue.close();
  }

  private async scan(): Promise<void> {
    const queue = this.queue;
    while (await queue.need(4)) {
      if (!isLocalHeader(queue.peek(4))) return; // the central directory, or bytes checkPackage will report
      if (this.entries.size >= this.limits.maxEntries) return;
      if (!(await queue.need(LOCAL_HEADER_FIXED_BYTES))) return;
      const headerOffset = queue.position;
      const headerLength = localHeaderLength(queue.peek(LOCAL_HEADER_FIXED_BYTES));
      if (!(await queue.need(headerLength))) return;
      const header = readLocalHeader(queue.peek(headerLength));
      if (header === null || (header.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS)) !== 0) return;
      queue.skip(headerLength);
      const dataOffset = queue.position;
      const hasDescriptor = (header.flags & FLAG_DATA_DESCRIPTOR) !== 0;
      // Behind a data descriptor the local header's sizes may be zero; the deflate stream's own end
      // tells where the data ends. A stored entry has no such end, so the scan cannot go past it.
      const length = hasDescriptor ? null : header.compressedSize;
      const budget = Math.min(this.limits.maxFileBytes, this.remainingTotal);
      const scanned = await this.digest(header, length, budget);
      this.remainingTotal -= scanned.hash.size;
      this.entries.set(headerOffset, { dataOffset, method: header.method, compressedSize: scanned.compressedSize, crc32: scanned.hash.crc, digest: scanned.hash.digest() });
      if (hasDescriptor) await this.skipDescriptor(header);
    }
  }

  /** Whether `more` inflated bytes (beyond the entries done) keep the scan within its expansion bound. */
  private mayInflate(more: number): boolean {
    const received = this.queue.position + this.queue.length;
    const inflated = this.limits.maxTotalBytes - this.remainingTotal + more;
    return inflated <= MAX_EXPANSION * received + EXPANSION_START_BYTES;
  }

  private async digest(header: LocalHeader, length: number | null, budget: number): Promise<{ hash: EntryHash; compressedSize: number }> {
    if (header.method === METHOD_STORED && length !== null) return this.digestStored(length, budget);
    if (header.method !== METHOD_DEFLATE) throw new StopScan();
    return (await this.inflateSmall(length, budget)) ?? this.inflateLarge(length, budget);
  }

  private async digestStored(length: number, budget: number): Promise<{ hash: EntryHash; compressedSize: number }> {
    if (length > budget) throw new StopScan();
    const hash = new EntryHash();
    for (let left = length; left > 0; ) {
      if (!(await this.queue.need(1))) throw new StopScan();
      for (const view of this.queue.views(left)) hash.update(view);
      const taken = Math.min(left, this.queue.length);
      this.queue.skip(taken);
      left -= taken;
    }
    return { hash, compressedSize: length };
  }

  /**
   * A deflated entry inflated in one call from the queued bytes, or null when it is larger than
   * the windows tried (it is then streamed).
   */
  private async inflateSmall(length: number | null, budget: number): Promise<{ hash: EntryHash; compressedSize: number } | null> {
    for (const window of SMALL_WINDOWS) {
      if (length !== null && length > window) continue;
      const wanted = length ?? window;
      const complete = await this.queue.need(wanted);
      if (!complete && length !== null) throw new StopScan();
      const input = this.queue.peek(Math.min(wanted, this.queue.length));
      let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
      try {
        // zlib refuses output beyond maxOutputLength (which must be at least 1).
        const options = { maxOutputLength: Math.max(1, Math.min(SMALL_OUTPUT_BYTES, budget)), chunkSize: INFLATE_CHUNK_BYTES, info: true };
        inflated = inflateRawSync(input, options) as unknown as typeof inflated;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE' && budget > SMALL_OUTPUT_BYTES) return null;
        // Cut short by the window: the entry goes on past it.
        if (code === 'Z_BUF_ERROR' && length === null && complete) continue;
        throw new StopScan();
      }
      const consumed = inflated.engine.bytesWritten;
      if (length !== null && consumed !== length) throw new StopScan();
      if (!this.mayInflate(inflated.buffer.length)) throw new StopScan();
      const hash = new EntryHash();
      hash.update(inflated.buffer);
      this.queue.skip(consumed);
      return { hash, compressedSize: consumed };
    }
    return null;
  }

  /**
   * A deflated entry too large to inflate in one call. Its leading stored blocks (what deflate
   * writes for incompressible data: images, audio, anything already compressed) are hashed as they
   * are, without zlib, whose copying made up most of the cost of a large package; from the first
   * compressed block on, zlib inflates the rest.
   */
  private async inflateLarge(length: number | null, budget: number): Promise<{ hash: EntryHash; compressedSize: number }> {
    const queue = this.queue;
    const hash = new EntryHash();
    const window = new RecentBytes(DEFLATE_WINDOW_BYTES);
    let consumed = 0;
    for (;;) {
      if (!(await queue.need(STORED_HEADER_BYTES))) throw new StopScan();
      const header = queue.peek(STORED_HEADER_BYTES);
      const first = header[0] as number;
      // RFC 1951 3.2.3: bit 0 is BFINAL, bits 1-2 BTYPE (0 = stored); a stored block then skips to
      // the byte boundary and gives LEN and its one's complement NLEN before LEN raw bytes.
      if (((first >> 1) & 0b11) !== 0) break;
      const blockLength = header.readUInt16LE(1);
      if (header.readUInt16LE(3) !== (~blockLength & 0xffff)) throw new StopScan();
      if (hash.size + blockLength > budget) throw new StopScan();
      queue.skip(STORED_HEADER_BYTES);
      consumed += STORED_HEADER_BYTES;
      for (let left = blockLength; left > 0; ) {
        if (!(await queue.need(1))) throw new StopScan();
        for (const view of queue.views(left)) {
          hash.update(view);
          window.add(view);
        }
        const taken = Math.min(left, queue.length);
        queue.skip(taken);
        left -= taken;
        consumed += taken;
      }
      if (length !== null && consumed > length) throw new StopScan();
      if ((first & 1) === 1) {
        if (length !== null && consumed !== length) throw new StopScan();
        return { hash, compressedSize: consumed };
      }
    }
    const rest = length === null ? null : length - consumed;
    const inflated = await this.inflateWithZlib(hash, rest, budget, window.bytes());
    return { hash, compressedSize: consumed + inflated };
  }

  /**
   * The rest of a deflated entry fed to zlib batch by batch, primed with the bytes inflated so
   * far (a compressed block may refer up to 32 KiB back). Without a declared length, the entry
   * ends where zlib stops taking bytes: the end of the deflate stream. Returns the bytes consumed.
   */
  private async inflateWithZlib(hash: EntryHash, length: number | null, budget: number, dictionary: Buffer): Promise<number> {
    const queue = this.queue;
    const inflater = createInflateRaw({ chunkSize: STREAM_BATCH_BYTES, ...(dictionary.length > 0 ? { dictionary } : {}) });
    let failed = false;
    // Output is hashed in a microtask, i.e. once zlib has been handed its next piece of work: the
    // thread pool inflates while this thread hashes, instead of one waiting for the other.
    const unhashed: Buffer[] = [];
    const hashUnhashed = () => {
      for (const chunk of unhashed.splice(0)) hash.update(chunk);
    };
    let inflated = hash.size;
    inflater.on('data', (chunk: Buffer) => {
      if (failed) return;
      inflated += chunk.length;
      if (inflated > budget || !this.mayInflate(inflated)) {
        failed = true;
        inflater.destroy();
        return;
      }
      if (unhashed.push(chunk) === 1) queueMicrotask(hashUnhashed);
    });
    inflater.on('error', () => {
      failed = true;
    });
    const ended = finished(inflater, { writable: false }).then(
      () => true,
      () => false,
    );
    try {
      let fed = 0;
      while (length === null || fed < length) {
        if (!(await queue.need(1))) throw new StopScan();
        // One write per batch (a copy, when it spans chunks): every write costs a thread-pool round trip.
        const batch = queue.peek(Math.min(STREAM_BATCH_BYTES, queue.length, length === null ? Infinity : length - fed));
        await Promise.race([new Promise<void>((resolve) => inflater.write(batch, () => resolve())), ended]);
        if (failed || inflater.destroyed) throw new StopScan();
        const consumed = inflater.bytesWritten;
        // Every byte written so far has been processed: fewer consumed means the deflate stream ended.
        queue.skip(consumed - fed);
        const streamEnded = consumed < fed + batch.length;
        fed = consumed;
        if (streamEnded) break;
      }
      if (length !== null && fed !== length) throw new StopScan();
      inflater.end();
      if (!(await ended) || failed) throw new StopScan();
      hashUnhashed();
      return fed;
    } finally {
      inflater.destroy();
    }
  }

  private async skipDescriptor(header: LocalHeader): Promise<void> {
    if (!(await this.queue.need(4))) throw new StopScan();
    const length = dataDescriptorLength(this.queue.peek(4), header.zip64);
    if (!(await this.queue.need(length))) throw new StopScan();
    this.queue.skip(length);
  }
}

/**
 * The last `capacity` bytes (or more) of a stream, kept as the views they arrived in; when many
 * small views pile up they are copied into one, so neither their number nor the memory they pin grows.
 */
class RecentBytes {
  private views: Buffer[] = [];
  private length = 0;

  constructor(private readonly capacity: number) {}

  add(view: Buffer): void {
    this.views.push(view);
    this.length += view.length;
    while (this.length - (this.views[0] as Buffer).length >= this.capacity) this.length -= (this.views.shift() as Buffer).length;
    if (this.views.length > MAX_RECENT_VIEWS) {
      this.views = [this.bytes()];
      this.length = (this.views[0] as Buffer).length;
    }
  }

  /** The last `capacity` bytes, copied. */
  bytes(): Buffer {
    const all = Buffer.concat(this.views, this.length);
    return all.subarray(Math.max(0, all.length - this.capacity));
  }
}
