/**
 * Which snapshots to keep: the newest of each of the last `hourly` hours that have one, of the last
 * `daily` days, and of the last `weekly` ISO weeks (Monday to Sunday), all in UTC, plus the newest
 * snapshot whatever the counts say. The periods are counted among the snapshots that exist, not back
 * from now (as restic and borg do): after the portal was off for a month the last 24 hourly
 * snapshots are still kept, never all deleted for being old. Pure: tested without a disk.
 */
export interface Retention {
  readonly hourly: number;
  readonly daily: number;
  readonly weekly: number;
}

type Bucket = (time: Date) => string;

const hour: Bucket = (t) => t.toISOString().slice(0, 13);
const day: Bucket = (t) => t.toISOString().slice(0, 10);

/** The ISO week a time falls in, as `<ISO year>-W<week>`. */
const week: Bucket = (t) => {
  // The Thursday of the same Monday-to-Sunday week decides the ISO year and week number.
  const thursday = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  thursday.setUTCDate(thursday.getUTCDate() + 3 - ((thursday.getUTCDay() + 6) % 7));
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const number = Math.floor((thursday.getTime() - yearStart) / 86_400_000 / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(number).padStart(2, '0')}`;
};

/** The indexes (into `times`) of the snapshots to keep. `times` may come in any order. */
export function snapshotsToKeep(times: readonly Date[], retention: Retention): Set<number> {
  const newestFirst = times.map((time, index) => ({ time, index })).sort((a, b) => b.time.getTime() - a.time.getTime() || b.index - a.index);
  const keep = new Set<number>();
  if (newestFirst[0]) keep.add(newestFirst[0].index);
  for (const [bucket, count] of [
    [hour, retention.hourly],
    [day, retention.daily],
    [week, retention.weekly],
  ] as const) {
    const seen = new Set<string>();
    for (const { time, index } of newestFirst) {
      if (seen.size >= count) break;
      const key = bucket(time);
      if (seen.has(key)) continue;
      seen.add(key);
      keep.add(index);
    }
  }
  return keep;
}

export const isoWeek = week;
