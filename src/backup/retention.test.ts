import { describe, expect, it } from 'vitest';
import { isoWeek, snapshotsToKeep } from './retention.js';
import { snapshotName, snapshotTime } from './snapshots.js';

const HOUR = 3600_000;

/** Kept snapshot times as ISO strings, newest first. */
function kept(times: Date[], retention: { hourly: number; daily: number; weekly: number }): string[] {
  const keep = snapshotsToKeep(times, retention);
  return times
    .filter((_, i) => keep.has(i))
    .map((t) => t.toISOString())
    .sort()
    .reverse();
}

/** One snapshot an hour at minute 7, from `start` for `hours` hours. */
function hourly(start: string, hours: number): Date[] {
  return Array.from({ length: hours }, (_, i) => new Date(Date.parse(start) + i * HOUR));
}

describe('snapshot retention', () => {
  it('keeps 24 hourly, 7 daily and 4 weekly of five weeks of hourly snapshots: the newest of each period', () => {
    // Monday 2026-11-02 00:07 to Sunday 2026-12-06 23:07 UTC: five ISO weeks (45 to 49).
    const times = hourly('2026-11-02T00:07:00Z', 35 * 24);
    const result = kept(times, { hourly: 24, daily: 7, weekly: 4 });
    const newest = times.at(-1)!.toISOString();
    expect(newest).toBe('2026-12-06T23:07:00.000Z');
    // The last 24 hours: 2026-12-06T00:07 … 23:07 (the last day's daily and the last week's weekly among them).
    const lastDay = hourly('2026-12-06T00:07:00Z', 24).map((t) => t.toISOString());
    // Daily: the newest of each of the 6 days before (23:07 each). Weekly: the newest of weeks 46, 47, 48 (Sundays 23:07).
    const daily = ['2026-12-05', '2026-12-04', '2026-12-03', '2026-12-02', '2026-12-01', '2026-11-30'].map((d) => `${d}T23:07:00.000Z`);
    const weekly = ['2026-11-29', '2026-11-22', '2026-11-15'].map((d) => `${d}T23:07:00.000Z`);
    expect(result).toEqual([...lastDay.reverse(), ...daily, ...weekly]);
    expect(result).toHaveLength(24 + 6 + 3);
    // Week 45 (the oldest) is gone entirely.
    expect(result.some((t) => t < '2026-11-09')).toBe(false);
  });

  it('counts periods that have a snapshot, not periods back from now: after a month off, the last ones stay', () => {
    const before = hourly('2026-10-01T00:07:00Z', 30);
    const after = [new Date('2026-11-05T10:07:00Z')];
    const result = kept([...before, ...after], { hourly: 3, daily: 0, weekly: 0 });
    expect(result).toEqual(['2026-11-05T10:07:00.000Z', '2026-10-02T05:07:00.000Z', '2026-10-02T04:07:00.000Z']);
  });

  it('keeps the newest of several snapshots in one hour, and always keeps the newest snapshot even when every count is 0', () => {
    const times = ['2026-11-27T12:07:00Z', '2026-11-27T12:30:00Z', '2026-11-27T12:59:59Z', '2026-11-27T11:07:00Z'].map((t) => new Date(t));
    expect(kept(times, { hourly: 2, daily: 0, weekly: 0 })).toEqual(['2026-11-27T12:59:59.000Z', '2026-11-27T11:07:00.000Z']);
    expect(kept(times, { hourly: 0, daily: 0, weekly: 0 })).toEqual(['2026-11-27T12:59:59.000Z']);
    expect(kept([], { hourly: 24, daily: 7, weekly: 4 })).toEqual([]);
  });

  it('takes the order of its input as it comes and answers indexes into it', () => {
    const times = [new Date('2026-11-27T10:07:00Z'), new Date('2026-11-27T12:07:00Z'), new Date('2026-11-27T11:07:00Z')];
    expect([...snapshotsToKeep(times, { hourly: 2, daily: 0, weekly: 0 })].sort()).toEqual([1, 2]);
  });

  it('buckets weeks as ISO weeks in UTC (Monday to Sunday, the year of their Thursday)', () => {
    expect(isoWeek(new Date('2026-11-30T00:00:00Z'))).toBe('2026-W49');
    expect(isoWeek(new Date('2026-11-29T23:59:59Z'))).toBe('2026-W48');
    // 2027-01-01 is a Friday: it belongs to the last week of 2026.
    expect(isoWeek(new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    // 2024-12-30 is a Monday whose Thursday is in 2025.
    expect(isoWeek(new Date('2024-12-30T12:00:00Z'))).toBe('2025-W01');
  });

  it('names snapshots by UTC time without colons, and reads the time back', () => {
    const t = new Date('2026-11-27T13:07:05.123Z');
    expect(snapshotName(t)).toBe('2026-11-27T13-07-05Z');
    expect(snapshotName(t, 2)).toBe('2026-11-27T13-07-05Z-2');
    expect(snapshotTime('2026-11-27T13-07-05Z-2')?.toISOString()).toBe('2026-11-27T13:07:05.000Z');
    expect(snapshotTime('.tmp-2026-11-27T13-07-05Z-abc')).toBeNull();
    expect(snapshotTime('notes')).toBeNull();
  });
});
