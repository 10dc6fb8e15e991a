import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { FileReader } from './file-reader.js';
import { DEFAULT_LIMITS } from './limits.js';
import { rawZip, type RawEntry, type RawZipOptions } from '../../test/support/raw-zip.js';
import { Workbench, yazlZip } from './test-support.js';
import { readZipLayout, type ZipLayout } from './zip.js';

let bench: Workbench;
beforeAll(async () => {
  bench = await Workbench.create();
});
afterAll(async () => {
  await bench.cleanup();
});

async function layoutOf(bytes: Buffer, limits = DEFAULT_LIMITS): Promise<ZipLayout> {
  const handle = await open(await bench.file(bytes), 'r');
  try {
    return await readZipLayout(new FileReader(handle, (await handle.stat()).size), limits);
  } finally {
    await handle.close();
  }
}

const text = (name: string, content = 'content'): RawEntry => ({ name, data: Buffer.from(content) });
const two = [text('a.txt', 'first file'), text('b.txt', 'second file')];

async function problems(entries: RawEntry[], options: RawZipOptions = {}) {
  const layout = await layoutOf(rawZip(entries, options));
  return { readable: layout.readable, codes: layout.findings.map((found) => found.code), messages: layout.findings.map((found) => found.message) };
}

describe('readZipLayout on honest archives', () => {
  it('reads names, methods, sizes and data offsets', async () => {
    const layout = await layoutOf(rawZip([text('a.txt', 'hello'), { name: 'dir/', method: 0 }, { name: 'b.bin', data: Buffer.alloc(10), method: 0 }]));
    expect(layout.findings).toEqual([]);
    expect(layout.readable).toBe(true);
    expect(layout.entries.map((entry) => [entry.name, entry.method, entry.size, entry.isDirectory])).toEqual([
      ['a.txt', 8, 5, false],
      ['dir/', 0, 0, true],
      ['b.bin', 0, 10, false],
    ]);
    expect(layout.entries.every((entry) => entry.dataOffset > 0)).toBe(true);
  });

  it('accepts data descriptors and a comment', async () => {
    const streamed = await layoutOf(await yazlZip([{ path: 'a.txt', data: Buffer.from('streamed') }], { streamed: true }));
    expect(streamed.findings).toEqual([]);
    expect((await problems(two, { comment: Buffer.from('built by hand') })).codes).toEqual([]);
  });
});

describe('readZipLayout refuses what it cannot verify', () => {
  it.each<[string, RawEntry[], RawZipOptions, string]>([
    ['data after the end record', two, { after: Buffer.from('#!/bin/sh\n') }, 'zip_extra_data'],
    ['an end record hidden in the comment', two, { comment: rawZip([text('evil.txt')]) }, 'zip_invalid'],
    ['a ZIP64 end record', two, { zip64EndRecord: true }, 'zip_invalid'],
    ['a split archive', two, { diskNumber: 1 }, 'zip_invalid'],
    ['an entry count that does not match the directory', two, { declaredEntries: 3 }, 'zip_invalid'],
  ])('%s', async (_name, entries, options, code) => {
    const result = await problems(entries, options);
    expect(result.codes).toEqual([code]);
    expect(result.readable).toBe(false);
  });

  it('reports data before the first entry (a self-extractor or polyglot)', async () => {
    const result = await problems(two, { before: Buffer.from('MZ fake executable stub') });
    expect(result.codes).toEqual(['zip_extra_data']);
    expect(result.messages[0]).toContain('23 unexplained bytes before the first entry');
  });

  it('reports bytes hidden between entries', async () => {
    const result = await problems(two, { between: Buffer.from('hidden payload') });
    expect(result.codes).toEqual(['zip_extra_data']);
    expect(result.messages[0]).toContain('14 unexplained bytes between "a.txt" and "b.txt"');
  });

  it('refuses two entries sharing the same bytes (overlapping-entry bombs)', async () => {
    const result = await problems([text('a.txt'), { ...text('b.txt'), shareLocalHeaderOf: 0 }]);
    expect(result.codes).toContain('zip_invalid');
    expect(result.readable).toBe(false);
  });

  it('refuses local headers that disagree with the central directory', async () => {
    expect((await problems([{ ...text('a.txt'), local: { name: 'evil.lua' } }])).codes).toEqual(['zip_header_mismatch']);
  });

  it('refuses too many entries from the end record alone, before reading the directory', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => text(`f${i}.txt`));
    const layout = await layoutOf(rawZip(entries), { ...DEFAULT_LIMITS, maxEntries: 10 });
    expect(layout.findings.map((found) => found.code)).toEqual(['zip_too_many_entries']);
    expect(layout.entries).toEqual([]);
  });

  it('reports an archive of 100 000 entries (ZIP64 end record) as too many entries, fast', async () => {
    const started = performance.now();
    const result = await problems([text('a.txt')], { zip64EndRecord: true, declaredEntries: 100_000 });
    expect(result.codes).toEqual(['zip_too_many_entries']);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('reports declared sizes over the limits, including a ZIP64 size of 10 GB', async () => {
    // The writer puts a size from 0xffffffff up in a ZIP64 extra field, as real zippers do.
    const huge: RawEntry = { name: 'huge.bin', data: Buffer.alloc(10), uncompressedSize: 10_000_000_000 };
    const layout = await layoutOf(rawZip([huge]));
    expect(layout.findings.map((found) => found.code)).toContain('zip_file_too_large');
    const total = await layoutOf(rawZip([text('a.txt', 'x'.repeat(600)), text('b.txt', 'y'.repeat(600))]), { ...DEFAULT_LIMITS, maxTotalBytes: 1000 });
    expect(total.findings.map((found) => found.code)).toEqual(['zip_total_too_large']);
  });

  it('flags encryption and unsupported compression per entry', async () => {
    const result = await problems([{ ...text('secret.txt'), method: 0, flags: 1 }, { ...text('data.bz2'), method: 12, compressed: Buffer.from('BZh9') }]);
    expect(result.codes).toEqual(['zip_encrypted', 'zip_unsupported_compression']);
  });

  it('flags names that are not UTF-8 or carry a conflicting Unicode-path field', async () => {
    const invalid = await problems([{ name: Buffer.from([0x61, 0xff, 0x2e, 0x74]), data: Buffer.from('x') }]);
    expect(invalid.codes).toEqual(['path_invalid']);
    const other = Buffer.from('../evil.lua');
    const extra = Buffer.alloc(4 + 5 + other.length);
    extra.writeUInt16LE(0x7075, 0);
    extra.writeUInt16LE(5 + other.length, 2);
    extra.writeUInt8(1, 4);
    other.copy(extra, 9);
    const conflicting = await problems([{ ...text('safe.lua'), centralExtra: extra }]);
    expect(conflicting.codes).toEqual(['path_invalid']);
  });

  it('refuses files that are not archives', async () => {
    expect((await layoutOf(Buffer.from('short'))).findings.map((found) => found.code)).toEqual(['zip_invalid']);
    expect((await layoutOf(deflateRawSync(Buffer.alloc(4096, 7)))).findings.map((found) => found.code)).toEqual(['zip_invalid']);
  });
});
