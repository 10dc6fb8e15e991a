import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.js';
import { Schedule } from './schedule.js';

describe('Schedule', () => {
  it('gives the next slot strictly after a time, in UTC', () => {
    const every5 = Schedule.parse('*/5 * * * *');
    expect(every5.nextSlot(new Date('2026-12-01T10:02:30.000Z')).toISOString()).toBe('2026-12-01T10:05:00.000Z');
    // A time exactly on a slot belongs to that slot's run; the next one is a whole period later.
    expect(every5.nextSlot(new Date('2026-12-01T10:05:00.000Z')).toISOString()).toBe('2026-12-01T10:10:00.000Z');
    expect(Schedule.parse('0 3 * * *').nextSlot(new Date('2026-12-01T03:00:00.001Z')).toISOString()).toBe('2026-12-02T03:00:00.000Z');
  });

  it('refuses an expression that is not cron', () => {
    expect(() => Schedule.parse('every five minutes')).toThrow();
    expect(() => Schedule.parse('61 * * * *')).toThrow();
    // A seventh field (the year) is not part of the documented syntax.
    expect(() => Schedule.parse('0 0 3 * * * 2027')).toThrow(/five fields, or six/);
  });

  it('takes six fields with seconds first', () => {
    expect(Schedule.parse('*/10 * * * * *').nextSlot(new Date('2026-12-01T03:00:00.000Z')).toISOString()).toBe('2026-12-01T03:00:10.000Z');
  });
});

describe('retryDelayMs', () => {
  const backoff = { baseMs: 1000, maxMs: 10_000 };

  it('doubles per failure up to the cap, with at most half of it random', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, backoff, () => 0))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, backoff, () => 0.999999))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('stays finite after very many failures', () => {
    expect(retryDelayMs(10_000, backoff, () => 0.5)).toBe(7500);
  });
});
