import { describe, expect, it } from 'vitest';
import { Probe } from './probe.js';

/** A read the test finishes by hand, counting how often it was started. */
function manualRead() {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  let started = 0;
  return {
    read: () =>
      new Promise<number>((resolve, reject) => {
        started += 1;
        pending.push({ resolve, reject });
      }),
    started: () => started,
    finish: (value: number) => pending.shift()?.resolve(value),
    fail: () => pending.shift()?.reject(new Error('down')),
  };
}

describe('Probe', () => {
  it('answers within its wait even when the read is slow, and the late answer serves the next scrape', async () => {
    const source = manualRead();
    let now = 0;
    const probe = new Probe(source.read, { maxAgeMs: 1000, waitMs: 20, onError: () => undefined, now: () => now });
    expect(await probe.get()).toBeUndefined();
    // A second scrape while the read runs joins it instead of starting another.
    expect(await probe.get()).toBeUndefined();
    expect(source.started()).toBe(1);
    source.finish(7);
    await Promise.resolve();
    expect(await probe.get()).toBe(7);
    // Fresh: no read.
    now = 999;
    expect(await probe.get()).toBe(7);
    expect(source.started()).toBe(1);
    // Stale: read again; a quick answer is waited for.
    now = 1000;
    const next = probe.get();
    source.finish(8);
    expect(await next).toBe(8);
    expect(source.started()).toBe(2);
  });

  it('keeps the last value when a read fails, and does not retry before the value would be stale', async () => {
    const source = manualRead();
    const errors: unknown[] = [];
    let now = 0;
    const probe = new Probe(source.read, { maxAgeMs: 100, waitMs: 50, onError: (err) => errors.push(err), now: () => now });
    const first = probe.get();
    source.finish(1);
    expect(await first).toBe(1);
    now = 100;
    const failed = probe.get();
    source.fail();
    expect(await failed).toBe(1);
    expect(errors).toHaveLength(1);
    now = 150;
    expect(await probe.get()).toBe(1);
    expect(source.started()).toBe(2);
  });

  it('spaces slow reads by a multiple of their duration, and with waitOnlyForFirst never holds a scrape once it has a value', async () => {
    const source = manualRead();
    let now = 0;
    const probe = new Probe(source.read, { maxAgeMs: 10, waitMs: 1000, waitOnlyForFirst: true, backoffFactor: 30, onError: () => undefined, now: () => now });
    const first = probe.get();
    now = 50; // the walk took 50
    source.finish(3);
    expect(await first).toBe(3);
    // Stale by age, but the next read waits 30 × 50 from the last one's start.
    now = 1000;
    expect(await probe.get()).toBe(3);
    expect(source.started()).toBe(1);
    now = 1500;
    const started = Date.now();
    expect(await probe.get()).toBe(3); // answered at once: the walk runs on
    expect(Date.now() - started).toBeLessThan(500);
    expect(source.started()).toBe(2);
    source.finish(4);
    await Promise.resolve();
    expect(await probe.get()).toBe(4);
  });
});
