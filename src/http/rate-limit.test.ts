import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows max attempts per window, then answers the seconds to wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ now: () => new Date(now) });
    for (let i = 0; i < 3; i += 1) expect(limiter.hit('login:a', 3, 60_000)).toBeNull();
    expect(limiter.hit('login:a', 3, 60_000)).toBe(60);
    now += 30_000;
    expect(limiter.hit('login:a', 3, 60_000)).toBe(30);
    now += 30_000;
    expect(limiter.hit('login:a', 3, 60_000)).toBeNull();
  });

  it('keeps its memory bounded under a flood of distinct keys', () => {
    const limiter = new RateLimiter({ now: () => new Date(0) });
    for (let i = 0; i < 120_000; i += 1) limiter.hit(`login:${i}`, 10, 60_000);
    const size = (limiter as unknown as { windows: Map<string, unknown> }).windows.size;
    expect(size).toBeLessThanOrEqual(50_000);
  });
});
