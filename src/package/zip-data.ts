import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import type { FileReader } from './file-reader.js';
import { finding, type Finding } from './findings.js';
import { METHOD_DEFLATE, type ZipEntry } from './zip.js';

/**
 * Inflates one entry and streams its bytes through SHA-256 and CRC-32, counting the bytes that
 * really come out. The count is checked on every chunk against the size the archive declares and
 * the limits, so an entry that inflates to more (a zip bomb) is stopped at once, with memory flat.
 */

export interface EntryBudget {
  /** Largest size one entry may inflate to. */
  maxFileBytes: number;
  /** What is left of the total size limit. */
  remainingTotalBytes: number;
}

export interface EntryDigest {
  size: number;
  sha256: string;
  /** The first bytes of the entry, for recognising executables and scripts by content. */
  head: Buffer;
}

export type EntryDigestResult = { ok: true; digest: EntryDigest } | { ok: false; finding: Finding };

export const HEAD_BYTES = 1024;
// Entries this small are read and inflated in one go: far cheaper than a stream per entry.
const IN_MEMORY_BYTES = 1024 * 1024;
const STREAM_CHUNK_BYTES = 256 * 1024;

class LimitExceeded extends Error {
  constructor(readonly finding: Finding) {
    super(finding.message);
  }
}

/**
 * SHA-256, CRC-32, size and first bytes of an entry's inflated bytes, fed chunk by chunk. Shared
 * with the stream scan (stream-scan.ts), so both ways of digesting an entry give the same digest.
 */
export class EntryHash {
  size = 0;
  crc = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly head: Buffer[] = [];
  private headLength = 0;

  update(chunk: Buffer): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    this.crc = crc32(chunk, this.crc);
    if (this.headLength < HEAD_BYTES) {
      // Copied: the chunk may be a view of a buffer that is reused once this returns.
      const part = Buffer.from(chunk.subarray(0, HEAD_BYTES - this.headLength));
      this.head.push(part);
      this.headLength += part.length;
    }
  }

  digest(): EntryDigest {
    return { size: this.size, sha256: this.hash.digest('hex'), head: Buffer.concat(this.head) };
  }
}

/** Accumulates the digest of an entry's inflated bytes and stops at the first limit passed. */
class DigestSink {
  private readonly hash = new EntryHash();
  private readonly captured: Buffer[] | null;

  constructor(
    private readonly entry: ZipEntry,
    private readonly budget: EntryBudget,
    capture: boolean,
  ) {
    this.captured = capture ? [] : null;
  }

  /** Adds a chunk, or returns the finding of the limit it passes. */
  push(chunk: Buffer): Finding | null {
    const size = this.hash.size + chunk.length;
    const where = { file: this.entry.name };
    const shown = JSON.stringify(this.entry.name);
    if (size > this.entry.size) {
      return finding('zip_size_mismatch', `${shown} inflates to more than the ${this.entry.size} bytes the archive declares`, where);
    }
    if (size > this.budget.maxFileBytes) {
      return finding('zip_file_too_large', `${shown} inflates to more than the ${this.budget.maxFileBytes}-byte limit for one file`, where);
    }
    if (size > this.budget.remainingTotalBytes) {
      return finding('zip_total_too_large', `the package inflates to more than the total size limit (reached in ${shown})`, where);
    }
    this.hash.update(chunk);
    // Views are fine here: finish() concatenates them before the next read.
    this.captured?.push(chunk);
    return null;
  }

  finish(consumed: number): EntryDigestResult & { content?: Buffer } {
    const where = { file: this.entry.name };
    const shown = JSON.stringify(this.entry.name);
    if (this.hash.size !== this.entry.size) {
      return { ok: false, finding: finding('zip_size_mismatch', `${shown} inflates to ${this.hash.size} bytes but the archive declares ${this.entry.size}`, where) };
    }
    if (consumed !== this.entry.compressedSize) {
      const message = `${shown} has ${this.entry.compressedSize - consumed} bytes after the end of its compressed data`;
      return { ok: false, finding: finding('zip_invalid', message, where) };
    }
    if (this.hash.crc !== this.entry.crc32) {
      return { ok: false, finding: finding('zip_invalid', `${shown} does not match its CRC-32: the archive is damaged`, where) };
    }
    const digest = this.hash.digest();
    return this.captured === null ? { ok: true, digest } : { ok: true, digest, content: Buffer.concat(this.captured) };
  }
}

/** Inflates and digests an entry whose local header has been checked (entry.dataOffset is known). */
export async function digestEntry(file: FileReader, entry: ZipEntry, budget: EntryBudget): Promise<EntryDigestResult> {
  return run(file, entry, new DigestSink(entry, budget, false));
}

/**
 * The bytes of an entry that was digested before, read again for parsing. `expected` is that
 * digest: if the bytes differ now, the file changed on disk during the check, which is an I/O
 * failure, not a finding about the package.
 */
export async function readEntryContent(file: FileReader, entry: ZipEntry, expected: Pick<EntryDigest, 'size' | 'sha256'>): Promise<Buffer> {
  const budget = { maxFileBytes: expected.size, remainingTotalBytes: expected.size };
  const result = await run(file, entry, new DigestSink(entry, budget, true));
  if (!result.ok || result.digest.sha256 !== expected.sha256 || result.content === undefined) {
    throw new Error(`${entry.name} changed while the package was being checked`);
  }
  return result.content;
}

async function run(file: FileReader, entry: ZipEntry, sink: DigestSink): Promise<EntryDigestResult & { content?: Buffer }> {
  const where = { file: entry.name };
  const shown = JSON.stringify(entry.name);
  if (entry.dataOffset < 0) throw new Error(`the local header of ${entry.name} was not read`);
  try {
    // An empty data area cannot be streamed (the byte range would be empty); it is read as is.
    if (entry.compressedSize === 0 || (entry.compressedSize <= IN_MEMORY_BYTES && entry.size <= IN_MEMORY_BYTES)) {
      const consumed = await inflateInMemory(file, entry, sink);
      return sink.finish(consumed);
    }
    const consumed = await inflateStreaming(file, entry, sink);
    return sink.finish(consumed);
  } catch (error) {
    if (error instanceof LimitExceeded) return { ok: false, finding: error.finding };
    if (isZlibError(error)) {
      return { ok: false, finding: finding('zip_invalid', `the compressed data of ${shown} is corrupt (${error.message})`, where) };
    }
    throw error;
  }
}

async function inflateInMemory(file: FileReader, entry: ZipEntry, sink: DigestSink): Promise<number> {
  const compressed = await file.read(entry.dataOffset, entry.compressedSize);
  if (entry.method !== METHOD_DEFLATE) {
    pushOrThrow(sink, compressed);
    return compressed.length;
  }
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // One byte more than declared is enough to prove the entry lies, and bounds the memory used.
    // One output chunk of the declared size spares zlib from concatenating many small ones.
    const chunkSize = Math.max(64, entry.size + 1);
    inflated = inflateRawSync(compressed, { maxOutputLength: entry.size + 1, chunkSize, info: true }) as unknown as typeof inflated;
  } catch (error) {
    if (error instanceof RangeError && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      const message = `${JSON.stringify(entry.name)} inflates to more than the ${entry.size} bytes the archive declares`;
      throw new LimitExceeded(finding('zip_size_mismatch', message, { file: entry.name }));
    }
    throw error;
  }
  pushOrThrow(sink, inflated.buffer);
  return inflated.engine.bytesWritten;
}

async function inflateStreaming(file: FileReader, entry: ZipEntry, sink: DigestSink): Promise<number> {
  const source = readRange(file, entry.dataOffset, entry.compressedSize);
  const target = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const problem = sink.push(chunk);
      done(problem === null ? null : new LimitExceeded(problem));
    },
  });
  if (entry.method !== METHOD_DEFLATE) {
    await pipeline(source, target);
    return entry.compressedSize;
  }
  const inflate = createInflateRaw({ chunkSize: STREAM_CHUNK_BYTES });
  await pipeline(source, inflate, target);
  return inflate.bytesWritten;
}

/**
 * The bytes of a range of the file, chunk by chunk. Not FileHandle.createReadStream: destroying
 * such a stream in the middle of a read (as a limit does) closes the shared handle even with
 * autoClose: false, and every later read of the package would fail.
 */
async function* readRange(file: FileReader, start: number, length: number): AsyncGenerator<Buffer> {
  for (let done = 0; done < length; ) {
    const size = Math.min(STREAM_CHUNK_BYTES, length - done);
    // Copied: the pipeline may still hold a chunk when the reader's window moves on.
    yield Buffer.from(await file.read(start + done, size));
    done += size;
  }
}

function pushOrThrow(sink: DigestSink, chunk: Buffer): void {
  const problem = sink.push(chunk);
  if (problem !== null) throw new LimitExceeded(problem);
}

function isZlibError(error: unknown): error is Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}
