import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { FileReader } from './file-reader.js';
import { DEFAULT_LIMITS } from './limits.js';
import { rawZip, type RawEntry } from '../../test/support/raw-zip.js';
import { Workbench } from './test-support.js';
import { digestEntry, readEntryContent, type EntryBudget, type EntryDigestResult } from './zip-data.js';
import { readZipLayout } from './zip.js';

let bench: Workbench;
beforeAll(async () => {
  bench = await Workbench.create();
});
afterAll(async () => {
  await bench.cleanup();
});

const budget: EntryBudget = { maxFileBytes: DEFAULT_LIMITS.maxFileBytes, remainingTotalBytes: DEFAULT_LIMITS.maxTotalBytes };

async function digestAll(entries: RawEntry[], limits: EntryBudget = budget): Promise<EntryDigestResult[]> {
  const handle = await open(await bench.file(rawZip(entries)), 'r');
  try {
    const file = new FileReader(handle, (await handle.stat()).size);
    const layout = await readZipLayout(file, DEFAULT_LIMITS);
    expect(layout.findings).toEqual([]);
    const results: EntryDigestResult[] = [];
    for (const entry of layout.entries) results.push(await digestEntry(file, entry, limits));
    return results;
  } finally {
    await handle.close();
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const codeOf = (result: EntryDigestResult | undefined) => (result !== undefined && !result.ok ? result.finding.code : null);

describe('digestEntry', () => {
  it('hashes stored, small deflated and large streamed entries', async () => {
    const large = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < large.length; i++) large[i] = (i * 7919) % 251;
    const data = [Buffer.from('stored bytes'), Buffer.from('deflated '.repeat(100)), large];
    const results = await digestAll([
      { name: 'a', data: data[0], method: 0 },
      { name: 'b', data: data[1] },
      { name: 'c', data: data[2] },
    ]);
    expect(results.map((result) => (result.ok ? [result.digest.size, result.digest.sha256] : null))).toEqual(data.map((bytes) => [bytes.length, sha256(bytes)]));
    const [first] = results;
    expect(first?.ok === true ? first.digest.head.toString() : '').toBe('stored bytes');
  });

  it('stops an entry that inflates past its declared size', async () => {
    const bomb = deflateRawSync(Buffer.alloc(32 * 1024 * 1024));
    const results = await digestAll([
      { name: 'small.bin', compressed: bomb, uncompressedSize: 100, data: Buffer.alloc(100) },
      { name: 'streamed.bin', compressed: bomb, uncompressedSize: 2 * 1024 * 1024, data: Buffer.alloc(2 * 1024 * 1024) },
    ]);
    expect(results.map(codeOf)).toEqual(['zip_size_mismatch', 'zip_size_mismatch']);
  });

  it('counts real bytes against the per-file and total limits', async () => {
    const data = Buffer.alloc(5000, 1);
    expect((await digestAll([{ name: 'a', data }], { maxFileBytes: 4096, remainingTotalBytes: 1e9 })).map(codeOf)).toEqual(['zip_file_too_large']);
    expect((await digestAll([{ name: 'a', data }], { maxFileBytes: 1e9, remainingTotalBytes: 4096 })).map(codeOf)).toEqual(['zip_total_too_large']);
  });

  it('refuses damaged data: short output, corrupt DEFLATE, bytes after the stream, wrong CRC', async () => {
    const data = Buffer.from('x'.repeat(300));
    const results = await digestAll([
      { name: 'short', data, uncompressedSize: 500 },
      { name: 'corrupt', data, compressed: Buffer.alloc(64, 0xff) },
      { name: 'trailing', data, compressed: Buffer.concat([deflateRawSync(data), Buffer.from('hidden')]) },
      { name: 'crc', data, crc32: 1234 },
    ]);
    expect(results.map(codeOf)).toEqual(['zip_size_mismatch', 'zip_invalid', 'zip_invalid', 'zip_invalid']);
  });
});

describe('readEntryContent', () => {
  it('returns the bytes that were digested', async () => {
    const data = Buffer.from('-- lua\nreturn 1\n');
    const handle = await open(await bench.file(rawZip([{ name: 'a.lua', data }])), 'r');
    try {
      const file = new FileReader(handle, (await handle.stat()).size);
      const layout = await readZipLayout(file, DEFAULT_LIMITS);
      const [entry] = layout.entries;
      if (entry === undefined) throw new Error('no entry');
      expect(await readEntryContent(file, entry, { size: data.length, sha256: sha256(data) })).toEqual(data);
      await expect(readEntryContent(file, entry, { size: data.length, sha256: '0'.repeat(64) })).rejects.toThrow(/changed/);
    } finally {
      await handle.close();
    }
  });
});
