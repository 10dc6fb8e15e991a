import { describe, expect, it } from 'vitest';
import { clientBudgetKey, RateLimiter } from './rate-limit.js';

const size = (limiter: RateLimiter) => (limiter as unknown as { counters: Map<string, unknown> }).counters.size;

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
    expect(size(limiter)).toBeLessThanOrEqual(50_000);
  });

  it('never evicts a counter that is limiting, whatever floods in after it', () => {
    const limiter = new RateLimiter({ now: () => new Date(0) });
    for (let i = 0; i < 3; i += 1) limiter.hit('login:account:victim', 3, 60_000);
    expect(limiter.hit('login:account:victim', 3, 60_000)).toBe(60);
    for (let i = 0; i < 120_000; i += 1) limiter.hit(`login:account:junk${i}`, 3, 60_000);
    expect(limiter.hit('login:account:victim', 3, 60_000)).toBe(60);
  });

  it('refuses an attempt without counting it in any budget, and creates no counter for it', () => {
    const limiter = new RateLimiter({ now: () => new Date(0) });
    expect(limiter.attempt([{ key: 'ip:1', max: 1, windowMs: 60_000 }, { key: 'account:a', max: 5, windowMs: 60_000 }])).toBeNull();
    for (let i = 0; i < 1000; i += 1) {
      expect(limiter.attempt([{ key: 'ip:1', max: 1, windowMs: 60_000 }, { key: `account:junk${i}`, max: 5, windowMs: 60_000 }])).toBe(60);
    }
    expect(size(limiter)).toBe(2);
  });

  it('refuses new keys while every counter is limiting, until the first window ends', () => {
    let now = 0;
    const limiter = new RateLimiter({ now: () => new Date(now) }, 1000);
    for (let i = 0; i < 1000; i += 1) expect(limiter.hit(`k${i}`, 1, 60_000 + i)).toBeNull();
    expect(limiter.hit('newcomer', 1, 60_000)).toBe(60);
    expect(limiter.hit('k0', 1, 60_000)).toBe(60);
    now = 30_000;
    expect(limiter.hit('newcomer', 1, 60_000)).toBe(30);
    // k0's window ends first and frees its slot; every other key is still held to its limit.
    now = 60_000;
    expect(limiter.hit('newcomer', 1, 60_000)).toBeNull();
    expect(limiter.hit('k999', 1, 60_000)).toBe(1);
    expect(size(limiter)).toBe(1000);
  });

  it('makes room from expired counters first, then the oldest that are not limiting', () => {
    let now = 0;
    const limiter = new RateLimiter({ now: () => new Date(now) }, 100);
    for (let i = 0; i < 50; i += 1) limiter.hit(`short${i}`, 5, 1_000);
    for (let i = 0; i < 50; i += 1) limiter.hit(`long${i}`, 5, 60_000);
    now = 2_000;
    expect(limiter.hit('newcomer', 5, 60_000)).toBeNull();
    // The 50 expired ones went; the live ones were enough below the cap to stay.
    for (let i = 0; i < 50; i += 1) expect(limiter.hit(`long${i}`, 2, 60_000)).toBeNull();
    expect(limiter.hit('long0', 2, 60_000)).toBe(58);
  });
});

describe('clientBudgetKey', () => {
  it('counts IPv4 as is, IPv6 by its /64 whatever the spelling, and IPv4-mapped IPv6 as IPv4', () => {
    expect(clientBudgetKey('203.0.113.5')).toBe('203.0.113.5');
    expect(clientBudgetKey('::ffff:203.0.113.5')).toBe('203.0.113.5');
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '2001:db8:1:2:3:4:1.2.3.4']) {
      expect(clientBudgetKey(ip)).toBe('2001:db8:1:2::/64');
    }
    expect(clientBudgetKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(clientBudgetKey('2001:db8:0:0:1::')).toBe('2001:db8:0:0::/64');
    expect(clientBudgetKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientBudgetKey('2001:db8:1:3::1')).not.toBe(clientBudgetKey('2001:db8:1:2::1'));
  });
});
