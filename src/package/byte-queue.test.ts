import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.js';

/** Bytes 0, 1, 2, … (mod 251, so no two chunk boundaries look alike), starting at `from`. */
function counting(length: number, from = 0): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (from + i) % 251;
  return bytes;
}

/** Byte equality without vitest's element-by-element diff of large buffers. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  let first = 0;
  while (first < Math.min(actual.length, expected.length) && actual[first] === expected[first]) first++;
  expect({ length: actual.length, firstDifference: first }).toEqual({ length: expected.length, firstDifference: expected.length });
}

/** Queues a chunk that must fit below the high-water mark (no wait asked for). */
function put(queue: ByteQueue, chunk: Buffer): void {
  expect(queue.push(chunk)).toBeUndefined();
}

/** Runs queued microtasks only: no timer, no I/O callback, no thread-pool completion. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Whether `promise` has settled once the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await microtasks();
  return done;
}

describe('ByteQueue.peek', () => {
  it('returns a view of the chunk when the bytes lie in one chunk', () => {
    const queue = new ByteQueue(1 << 20);
    const chunk = counting(5000);
    put(queue, chunk);
    const head = queue.peek(10);
    expect(head.buffer).toBe(chunk.buffer);
    expect(head.byteOffset).toBe(chunk.byteOffset);
    expect(head).toEqual(chunk.subarray(0, 10));
    queue.skip(100);
    const later = queue.peek(4900);
    expect(later.buffer).toBe(chunk.buffer);
    expect(later.byteOffset).toBe(chunk.byteOffset + 100);
    expectBytes(later, chunk.subarray(100));
  });

  it('returns a copy with the right bytes when they span chunks', () => {
    const queue = new ByteQueue(1 << 20);
    const first = counting(5000);
    const second = counting(6000, 5000);
    const third = counting(7000, 11_000);
    put(queue, first);
    put(queue, second);
    put(queue, third);
    queue.skip(4995);
    const across = queue.peek(5 + 6000 + 3);
    expect(across.buffer).not.toBe(first.buffer);
    expect(across.buffer).not.toBe(second.buffer);
    expectBytes(across, counting(6008, 4995));
    // Peeking does not consume.
    expect(queue.length).toBe(18_000 - 4995);
    expect(queue.peek(3)).toEqual(counting(3, 4995));
  });
});

describe('ByteQueue.views', () => {
  it('gives at most `max` bytes, starting after the skipped ones, as views of the chunks', () => {
    const queue = new ByteQueue(1 << 20);
    const chunks = [counting(5000), counting(5000, 5000), counting(5000, 10_000)];
    for (const chunk of chunks) put(queue, chunk);
    queue.skip(1000);

    const some = queue.views(7000);
    expect(some.map((view) => view.length)).toEqual([4000, 3000]);
    expect(some[0]?.buffer).toBe(chunks[0]?.buffer);
    expect(some[1]?.buffer).toBe(chunks[1]?.buffer);
    expectBytes(Buffer.concat(some), counting(7000, 1000));

    expect(queue.views(4000).map((view) => view.length)).toEqual([4000]);
    expect(queue.views(1)).toEqual([counting(1, 1000)]);
    expect(queue.views(0)).toEqual([]);

    const all = queue.views(Number.MAX_SAFE_INTEGER);
    expect(all.map((view) => view.length)).toEqual([4000, 5000, 5000]);
    expectBytes(Buffer.concat(all), counting(14_000, 1000));
  });

  it('is empty on an empty queue', () => {
    expect(new ByteQueue(100).views(10)).toEqual([]);
  });
});

describe('ByteQueue.skip', () => {
  it('consumes across chunk boundaries and advances position', () => {
    const queue = new ByteQueue(1 << 20);
    for (let i = 0; i < 4; i++) put(queue, counting(5000, i * 5000));
    expect(queue.position).toBe(0);
    expect(queue.length).toBe(20_000);

    queue.skip(4999);
    expect(queue.position).toBe(4999);
    expect(queue.peek(2)).toEqual(counting(2, 4999));

    queue.skip(1);
    expect(queue.position).toBe(5000);
    expect(queue.views(100_000).map((view) => view.length)).toEqual([5000, 5000, 5000]);

    // Over two whole chunks and into a third.
    queue.skip(12_345);
    expect(queue.position).toBe(17_345);
    expect(queue.length).toBe(20_000 - 17_345);
    expectBytes(queue.peek(queue.length), counting(20_000 - 17_345, 17_345));

    queue.skip(queue.length);
    expect(queue.position).toBe(20_000);
    expect(queue.length).toBe(0);
    expect(queue.views(10)).toEqual([]);

    put(queue, counting(4096, 20_000));
    expect(queue.peek(3)).toEqual(counting(3, 20_000));
  });
});

describe('ByteQueue with small chunks', () => {
  it('keeps filling one buffer when a slow drip of one-byte chunks is consumed as it arrives', () => {
    const queue = new ByteQueue(1 << 20);
    const backing = new Set<ArrayBufferLike>();
    for (let i = 0; i < 1000; i++) {
      put(queue, Buffer.from([i % 251]));
      const byte = queue.peek(1);
      expect(byte[0]).toBe(i % 251);
      backing.add(byte.buffer);
      queue.skip(1);
    }
    expect(backing.size).toBe(1);
  });

  it('coalesces 10 000 one-byte pushes into few chunks and keeps every byte in order', () => {
    const queue = new ByteQueue(1 << 20);
    const expected = counting(10_000);
    for (const byte of expected) expect(queue.push(Buffer.from([byte]))).toBeUndefined();
    expect(queue.length).toBe(10_000);
    const views = queue.views(Number.MAX_SAFE_INTEGER);
    expect(views.length).toBeLessThanOrEqual(2);
    expectBytes(Buffer.concat(views), expected);

    expectBytes(queue.peek(10_000), expected);
    queue.skip(4097);
    expect(queue.position).toBe(4097);
    expect(queue.peek(5)).toEqual(expected.subarray(4097, 4102));
    queue.skip(5900);
    expect(queue.peek(3)).toEqual(expected.subarray(9997));
    queue.skip(3);
    expect(queue.length).toBe(0);
  });

  it('starts a new buffer once one is full, and keeps bytes intact across them', () => {
    const queue = new ByteQueue(1 << 20);
    const expected = counting(200_000);
    for (let offset = 0; offset < expected.length; offset += 3000) put(queue, expected.subarray(offset, offset + 3000));
    const views = queue.views(Number.MAX_SAFE_INTEGER);
    // 64 KiB buffers of 3000-byte pieces: a handful of chunks, not 67.
    expect(views.length).toBeGreaterThan(1);
    expect(views.length).toBeLessThanOrEqual(5);
    expectBytes(Buffer.concat(views), expected);
    queue.skip(65_000);
    expectBytes(queue.peek(10_000), expected.subarray(65_000, 75_000));
  });

  it('keeps views handed out valid while more small chunks are copied in after them', () => {
    const queue = new ByteQueue(1 << 20);
    put(queue, Buffer.from('abc'));
    const early = queue.peek(3);
    const earlyViews = queue.views(3);
    put(queue, Buffer.from('xyz'));
    put(queue, Buffer.from('12'));
    expect(early.toString()).toBe('abc');
    expect(queue.peek(8).toString()).toBe('abcxyz12');
    queue.skip(2);
    put(queue, Buffer.from('!'));
    expect(early.toString()).toBe('abc');
    expect(Buffer.concat(earlyViews).toString()).toBe('abc');
    expect(queue.peek(7).toString()).toBe('cxyz12!');
  });

  it('keeps small and large chunks in the order they came', () => {
    const queue = new ByteQueue(1 << 20);
    const expected = counting(3 + 8192 + 2 + 5000 + 1);
    let offset = 0;
    for (const size of [3, 8192, 2, 5000, 1]) {
      put(queue, expected.subarray(offset, offset + size));
      offset += size;
    }
    expectBytes(queue.peek(expected.length), expected);
    queue.skip(8194);
    expect(queue.peek(4)).toEqual(expected.subarray(8194, 8198));
  });

  it('ignores empty chunks', () => {
    const queue = new ByteQueue(10);
    expect(queue.push(Buffer.alloc(0))).toBeUndefined();
    expect(queue.length).toBe(0);
    expect(queue.views(10)).toEqual([]);
  });
});

describe('ByteQueue backpressure', () => {
  it('asks the producer to wait above highWater, until skip() brings it to half or below', async () => {
    const queue = new ByteQueue(10_000);
    expect(queue.push(counting(6000))).toBeUndefined();
    expect(queue.push(counting(4000))).toBeUndefined(); // exactly highWater: no wait yet
    const wait = queue.push(counting(5000));
    expect(wait).toBeInstanceOf(Promise);
    if (wait === undefined) return;
    expect(await settled(wait)).toBe(false);

    queue.skip(1000); // 14 000 left
    expect(await settled(wait)).toBe(false);
    queue.skip(8999); // 5001 left: still above half
    expect(await settled(wait)).toBe(false);
    queue.skip(1); // 5000: half
    expect(await settled(wait)).toBe(true);
    expect(queue.length).toBe(5000);
  });

  it('counts small (coalesced) chunks against highWater too', async () => {
    const queue = new ByteQueue(100);
    for (let i = 0; i < 100; i++) expect(queue.push(Buffer.from([i]))).toBeUndefined();
    const wait = queue.push(Buffer.from([100]));
    expect(wait).toBeInstanceOf(Promise);
    if (wait === undefined) return;
    queue.skip(51);
    expect(await settled(wait)).toBe(true);
  });

  it('close() releases a waiting producer, drops what is queued and ignores later chunks', async () => {
    const queue = new ByteQueue(1000);
    const wait = queue.push(counting(5000));
    expect(wait).toBeInstanceOf(Promise);
    if (wait === undefined) return;
    expect(await settled(wait)).toBe(false);
    queue.close();
    expect(await settled(wait)).toBe(true);
    expect(queue.length).toBe(0);
    expect(queue.push(counting(5000))).toBeUndefined();
    expect(queue.length).toBe(0);
    expect(await queue.need(1)).toBe(false);
  });

  it('close() wakes a consumer waiting for bytes, with false', async () => {
    const queue = new ByteQueue(1000);
    const need = queue.need(10);
    expect(await settled(need)).toBe(false);
    queue.close();
    await expect(need).resolves.toBe(false);
  });
});

describe('ByteQueue.need', () => {
  it('resolves true at once when enough bytes are queued', async () => {
    const queue = new ByteQueue(1000);
    put(queue, counting(10));
    await expect(queue.need(10)).resolves.toBe(true);
    await expect(queue.need(0)).resolves.toBe(true);
  });

  it('waits for chunks until enough bytes are queued', async () => {
    const queue = new ByteQueue(1 << 20);
    const need = queue.need(5000);
    put(queue, counting(3000));
    expect(await settled(need)).toBe(false);
    put(queue, Buffer.from([1]));
    expect(await settled(need)).toBe(false);
    put(queue, counting(4096));
    await expect(need).resolves.toBe(true);
  });

  it('resolves false when end() comes before enough bytes', async () => {
    const queue = new ByteQueue(1000);
    const need = queue.need(10);
    put(queue, counting(5));
    expect(await settled(need)).toBe(false);
    queue.end();
    await expect(need).resolves.toBe(false);
    // What did arrive stays readable after the end.
    await expect(queue.need(5)).resolves.toBe(true);
    expect(queue.peek(5)).toEqual(counting(5));
    await expect(queue.need(6)).resolves.toBe(false);
  });
});
