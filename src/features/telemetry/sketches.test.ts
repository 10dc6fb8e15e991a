import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DISTINCT_STANDARD_ERROR,
  DistinctSketch,
  QUANTILE_RELATIVE_ACCURACY,
  QuantileSketch,
} from './sketches.js';

/** A seeded generator (mulberry32), so every run checks the same values. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The value a quantile sketch promises to approximate: rank ⌊q·(n−1)⌋ of the sorted values. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

function expectWithinAccuracy(estimate: number | null, exact: number): void {
  expect(estimate).not.toBeNull();
  // The slack covers float rounding at a bin's edge, far below the accuracy itself.
  expect(Math.abs(estimate! - exact)).toBeLessThanOrEqual(exact * QUANTILE_RELATIVE_ACCURACY * (1 + 1e-9));
}

function quantileSketchOf(values: number[]): QuantileSketch {
  const sketch = QuantileSketch.empty();
  for (const value of values) sketch.add(value);
  return sketch;
}

function distinctSketchOf(from: number, to: number): DistinctSketch {
  const sketch = DistinctSketch.empty();
  for (let i = from; i < to; i++) sketch.add(`device-${i}`);
  return sketch;
}

/** Bytes with a valid checksum around a payload, to reach the checks behind the checksum. */
function withCrc(payload: number[]): Buffer {
  const body = Buffer.from(payload);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(crc32(body));
  return Buffer.concat([body, trailer]);
}

const QUANTILES = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

describe('QuantileSketch', () => {
  it('answers quantiles of 1..100000 within 1 % of the true values', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const sketch = quantileSketchOf(values);
    expect(sketch.count).toBe(100_000);
    for (const q of QUANTILES) expectWithinAccuracy(sketch.quantile(q), exactQuantile(values, q));
  });

  it('answers quantiles of a long-tailed distribution (frame times) within 1 %', () => {
    const next = random(7);
    // Log-normal around 16 ms with rare stalls of seconds, the shape frame times have.
    const values = Array.from({ length: 20_000 }, () => {
      const normal = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      return 16 * Math.exp(0.6 * normal) * (next() < 0.01 ? 100 : 1);
    });
    const sketch = quantileSketchOf(values);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of QUANTILES) expectWithinAccuracy(sketch.quantile(q), exactQuantile(sorted, q));
  });

  it('gives merged hourly sketches the same answers as one sketch over all the values', () => {
    const next = random(42);
    const hours = Array.from({ length: 24 }, (_, hour) =>
      Array.from({ length: 500 + hour * 20 }, () => (hour < 6 ? 0.5 : 1) * Math.floor(next() * 5000)),
    );
    const all = hours.flat();
    const whole = quantileSketchOf(all);
    const merged = QuantileSketch.empty();
    for (const hour of hours) merged.merge(QuantileSketch.decode(quantileSketchOf(hour).encode()));

    expect(merged.count).toBe(all.length);
    const sorted = [...all].sort((a, b) => a - b);
    for (const q of QUANTILES) {
      expect(merged.quantile(q)).toBe(whole.quantile(q));
      expectWithinAccuracy(merged.quantile(q), exactQuantile(sorted, q));
    }
    expect(merged.encode().equals(whole.encode())).toBe(true);
  });

  it('merges in any order, with empty sketches, and into itself', () => {
    const a = quantileSketchOf([1, 2, 3, 0.9, 1]);
    const b = quantileSketchOf([0.01, 0.02, 1000]);
    const ab = QuantileSketch.decode(a.encode());
    ab.merge(b);
    ab.merge(QuantileSketch.empty());
    const ba = QuantileSketch.decode(b.encode());
    ba.merge(a);
    expect(ab.encode().equals(ba.encode())).toBe(true);
    expect(ab.count).toBe(8);

    const doubled = quantileSketchOf([5, 10]);
    doubled.merge(doubled);
    expect(doubled.count).toBe(4);
    expectWithinAccuracy(doubled.quantile(0.4), 5);
  });

  it('answers null when empty and round-trips the empty sketch', () => {
    const empty = QuantileSketch.empty();
    expect(empty.count).toBe(0);
    expect(empty.quantile(0.5)).toBeNull();
    for (const stored of [null, undefined, Buffer.alloc(0), new Uint8Array(0), empty.encode()]) {
      const decoded = QuantileSketch.decode(stored);
      expect(decoded.count).toBe(0);
      expect(decoded.quantile(0.99)).toBeNull();
    }
    expect(QuantileSketch.decode(empty.encode()).encode().equals(empty.encode())).toBe(true);
  });

  it('counts zeros and answers 0 for the ranks they hold', () => {
    const zeros = quantileSketchOf([0, 0, 0]);
    expect(zeros.count).toBe(3);
    expect(zeros.quantile(0)).toBe(0);
    expect(zeros.quantile(1)).toBe(0);

    const mixed = quantileSketchOf([0, 0, 0, 0, 0, 0, 10, 20, 30, 40]);
    expect(mixed.quantile(0.5)).toBe(0);
    expectWithinAccuracy(mixed.quantile(1), 40);
    const decoded = QuantileSketch.decode(mixed.encode());
    expect(decoded.quantile(0.5)).toBe(0);
    expect(decoded.count).toBe(10);
  });

  it('ignores negative and non-finite values', () => {
    const sketch = quantileSketchOf([-1, Number.NaN, Infinity, -Infinity, -0.001, 7]);
    expect(sketch.count).toBe(1);
    expectWithinAccuracy(sketch.quantile(0), 7);
  });

  it('keeps its accuracy for values across the whole range of doubles', () => {
    const values = [Number.MIN_VALUE, 1e-300, 1e-9, 0.99, 1, 1.01, 123.456, 1e9, 1e300, Number.MAX_VALUE];
    const sketch = QuantileSketch.decode(quantileSketchOf(values).encode());
    values.forEach((value, i) => {
      if (value < 1e-300) return; // subnormals carry too few digits for a relative bound
      // Aimed mid-rank, so float rounding of q·(n−1) cannot drop to the rank below.
      expectWithinAccuracy(sketch.quantile(Math.min(1, (i + 0.5) / (values.length - 1))), value);
    });
    expect(Number.isFinite(sketch.quantile(1))).toBe(true);
  });

  it('refuses a quantile outside [0, 1]', () => {
    const sketch = quantileSketchOf([1]);
    expect(() => sketch.quantile(-0.1)).toThrow(RangeError);
    expect(() => sketch.quantile(1.5)).toThrow(RangeError);
    expect(() => sketch.quantile(Number.NaN)).toThrow(RangeError);
  });

  it('round-trips through bytes to the same answers and the same bytes', () => {
    const next = random(3);
    const sketch = quantileSketchOf(Array.from({ length: 10_000 }, () => 1 + Math.floor(next() * 100_000)));
    const bytes = sketch.encode();
    // A database driver may hand back a view into a larger buffer.
    const padded = Buffer.concat([Buffer.from([9, 9, 9]), bytes]).subarray(3);
    const decoded = QuantileSketch.decode(new Uint8Array(padded.buffer, padded.byteOffset, padded.length));
    expect(decoded.count).toBe(sketch.count);
    for (const q of QUANTILES) expect(decoded.quantile(q)).toBe(sketch.quantile(q));
    expect(decoded.encode().equals(bytes)).toBe(true);
    expect(bytes.length).toBeLessThan(1024);
    expect(quantileSketchOf([16.7]).encode().length).toBeLessThanOrEqual(12);
  });

  it('refuses damaged or foreign bytes', () => {
    const bytes = quantileSketchOf([1, 2, 3, 500, 0]).encode();
    const flipped = Buffer.from(bytes);
    flipped[2] = flipped[2]! ^ 0x01;
    const garbage = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
    for (const bad of [
      bytes.subarray(0, bytes.length - 1),
      bytes.subarray(0, 3),
      flipped,
      garbage,
      DistinctSketch.empty().encode(),
      distinctSketchOf(0, 10).encode(),
    ]) {
      expect(() => QuantileSketch.decode(bad)).toThrow(/corrupt quantile sketch/);
    }
    // Well-formed checksums around impossible contents.
    expect(() => QuantileSketch.decode(withCrc([0x11, 0, 1, 2, 0]))).toThrow(/empty bin/);
    expect(() => QuantileSketch.decode(withCrc([0x11, 0, 1, 2, 1, 7]))).toThrow(/trailing/);
    expect(() => QuantileSketch.decode(withCrc([0x11, 0, 2, 2, 1]))).toThrow(/truncated/);
    expect(() => QuantileSketch.decode(withCrc([0x11, 0x80, 0x00, 0]))).toThrow(/non-minimal/);
    expect(() => QuantileSketch.decode(withCrc([0x11, 0, 1, 0xfe, 0xff, 0x7f, 1]))).toThrow(/out of range/);
    expect(() => QuantileSketch.decode(withCrc([0x12, 0, 0]))).toThrow(/unknown format/);
  });
});

describe('DistinctSketch', () => {
  it('counts nothing when empty, from null as from its own encoding', () => {
    expect(DistinctSketch.empty().estimate()).toBe(0);
    for (const stored of [null, undefined, Buffer.alloc(0), DistinctSketch.empty().encode()]) {
      expect(DistinctSketch.decode(stored).estimate()).toBe(0);
    }
  });

  it('counts small sets exactly or within one', () => {
    expect(distinctSketchOf(0, 1).estimate()).toBe(1);
    expect(distinctSketchOf(0, 5).estimate()).toBe(5);
    expect(Math.abs(distinctSketchOf(0, 50).estimate() - 50)).toBeLessThanOrEqual(1);
    expect(Math.abs(distinctSketchOf(1000, 1500).estimate() - 500)).toBeLessThanOrEqual(500 * DISTINCT_STANDARD_ERROR * 3);
  });

  it('does not count a key twice', () => {
    const once = distinctSketchOf(0, 300);
    const repeated = DistinctSketch.empty();
    for (let round = 0; round < 5; round++) for (let i = 299; i >= 0; i--) repeated.add(`device-${i}`);
    expect(repeated.estimate()).toBe(once.estimate());
    expect(repeated.encode().equals(once.encode())).toBe(true);
  });

  it.each([10_000, 200_000])('estimates %i distinct keys within 3 standard errors', (n) => {
    const estimate = distinctSketchOf(0, n).estimate();
    expect(Number.isInteger(estimate)).toBe(true);
    expect(Math.abs(estimate - n)).toBeLessThanOrEqual(n * DISTINCT_STANDARD_ERROR * 3);
  });

  it('merges to the union: overlapping days count each device once', () => {
    const monday = distinctSketchOf(0, 6000);
    const tuesday = distinctSketchOf(4000, 10_000);
    const week = DistinctSketch.decode(monday.encode());
    week.merge(DistinctSketch.decode(tuesday.encode()));
    week.merge(DistinctSketch.empty());
    const union = distinctSketchOf(0, 10_000);
    expect(week.encode().equals(union.encode())).toBe(true);
    expect(Math.abs(week.estimate() - 10_000)).toBeLessThanOrEqual(10_000 * DISTINCT_STANDARD_ERROR * 3);

    const reversed = DistinctSketch.decode(tuesday.encode());
    reversed.merge(monday);
    expect(reversed.estimate()).toBe(week.estimate());
  });

  it('round-trips small sets compactly and large ones as registers', () => {
    const small = distinctSketchOf(0, 3);
    expect(small.encode().length).toBeLessThanOrEqual(1 + 3 * 3 + 4);
    expect(DistinctSketch.decode(small.encode()).encode().equals(small.encode())).toBe(true);
    expect(DistinctSketch.decode(small.encode()).estimate()).toBe(3);

    for (const n of [1000, 20_000]) {
      const sketch = distinctSketchOf(0, n);
      const bytes = sketch.encode();
      expect(bytes.length).toBeLessThanOrEqual(1 + 4096 + 4);
      const decoded = DistinctSketch.decode(new Uint8Array(bytes));
      expect(decoded.estimate()).toBe(sketch.estimate());
      expect(decoded.encode().equals(bytes)).toBe(true);
    }
  });

  it('refuses damaged or foreign bytes', () => {
    const dense = distinctSketchOf(0, 5000).encode();
    const sparse = distinctSketchOf(0, 20).encode();
    const flipped = Buffer.from(dense);
    flipped[100] = flipped[100]! ^ 0x10;
    for (const bad of [
      dense.subarray(0, dense.length - 1),
      sparse.subarray(0, sparse.length - 2),
      flipped,
      Buffer.from('not a sketch at all'),
      quantileSketchOf([1, 2, 3]).encode(),
    ]) {
      expect(() => DistinctSketch.decode(bad)).toThrow(/corrupt distinct sketch/);
    }
    // Well-formed checksums around impossible contents: rank 60 (> 53), indexes out of order, a short dense form.
    expect(() => DistinctSketch.decode(withCrc([0x21, 0x00, 0x00, 60]))).toThrow(/register value/);
    expect(() => DistinctSketch.decode(withCrc([0x21, 0x00, 0x01, 0x01, 0x00, 0x00, 0x41]))).toThrow(/out of order/);
    expect(() => DistinctSketch.decode(withCrc([0x21, 0x00, 0x01]))).toThrow(/wrong length/);
    expect(() => DistinctSketch.decode(withCrc([0x22, 1, 2, 3]))).toThrow(/wrong length/);
  });
});
