import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type FileHandle } from 'node:fs/promises';
import { FileReader } from './file-reader.js';
import { Workbench } from './test-support.js';

let bench: Workbench;
let handle: FileHandle;
const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));

beforeAll(async () => {
  bench = await Workbench.create();
  handle = await open(await bench.file(bytes), 'r');
});
afterAll(async () => {
  await handle.close();
  await bench.cleanup();
});

describe('FileReader', () => {
  it('returns exactly the bytes asked for, inside and across windows and larger than one', async () => {
    const reader = new FileReader(handle, bytes.length, 1024);
    for (const [position, length] of [
      [0, 10],
      [10, 1000],
      [1020, 10],
      [5000, 3000],
      [9990, 10],
      [0, 0],
      [10_000, 0],
    ] as const) {
      expect(Buffer.from(await reader.read(position, length))).toEqual(bytes.subarray(position, position + length));
    }
  });

  it('fails when asked for bytes past the end of the file', async () => {
    const reader = new FileReader(handle, bytes.length, 1024);
    await expect(reader.read(9995, 10)).rejects.toThrow(/unexpected end of file/);
    expect(Buffer.from(await reader.read(9000, 10))).toEqual(bytes.subarray(9000, 9010));
  });
});
