import { describe, expect, it } from 'vitest';
import { ByteCache } from './byte-cache.js';

const entry = (bytes: number) => ({ bytes });

describe('ByteCache', () => {
  it('stays within its bytes, evicting the oldest unused entries first and sparing a used one once', () => {
    const cache = new ByteCache<{ bytes: number }>(100);
    cache.set('a', entry(29));
    cache.set('b', entry(29));
    cache.set('c', entry(29));
    expect(cache.get('a')).toBeDefined();
    cache.set('d', entry(29));
    // 'a' was used: spared; 'b' was the oldest unused.
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
    for (let i = 0; i < 1000; i += 1) cache.set(`k${i}`, entry(10 + (i % 20)));
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
  });

  it('refuses an entry larger than the whole cache and replaces an entry under the same key', () => {
    const cache = new ByteCache<{ bytes: number; v?: number }>(50);
    cache.set('big', entry(100));
    expect(cache.get('big')).toBeUndefined();
    cache.set('x', { bytes: 10, v: 1 });
    cache.set('x', { bytes: 20, v: 2 });
    expect(cache.get('x')).toEqual({ bytes: 20, v: 2 });
    expect(cache.size).toEqual({ entries: 1, bytes: 21 });
  });
});
