import { DistinctSketch, QuantileSketch } from './sketches.js';
import type { TelemetryRollupsTable } from './telemetry.table.js';
import { ALL_VERSIONS } from './rollup.js';

export type Granularity = 'hour' | 'day';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Longest ranges answered: 31 days of hours, two years of days. */
export const MAX_BUCKETS: Record<Granularity, number> = { hour: 31 * 24, day: 731 };

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  samples: number;
}

export interface Metrics {
  events: number;
  starts: number;
  unique_devices: number;
  sessions: number;
  avg_session_seconds: number | null;
  total_session_seconds: number;
  crashes: number;
  lua_errors: number;
  crashed_sessions: number;
  crash_free_sessions_percent: number | null;
  screen_views: number;
  button_clicks: number;
  features_used: number;
  perf: { frame_ms: Percentiles; memory_mb: Percentiles; startup_ms: Percentiles };
}

export interface Totals extends Metrics {
  unique_devices_approximate: boolean;
}

export function bucketMs(granularity: Granularity): number {
  return granularity === 'hour' ? HOUR_MS : DAY_MS;
}

/** The bucket string of an instant: `YYYY-MM-DDTHH` or `YYYY-MM-DD` (what the rollups store). */
export function bucketKey(ms: number, granularity: Granularity): string {
  return new Date(ms).toISOString().slice(0, granularity === 'hour' ? 13 : 10);
}

/** An instant floored to its bucket. */
export function floorTo(ms: number, granularity: Granularity): number {
  const size = bucketMs(granularity);
  return Math.floor(ms / size) * size;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

function percentiles(sketches: readonly (Uint8Array | null)[]): Percentiles {
  const merged = QuantileSketch.empty();
  for (const s of sketches) if (s) merged.merge(QuantileSketch.decode(s));
  const q = (p: number) => {
    const v = merged.quantile(p);
    return v === null ? null : round(v);
  };
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), samples: merged.count };
}

/** The metrics of rows added together (counts add, sketches merge); unique devices as given. */
export function metricsOf(rows: readonly TelemetryRollupsTable[], uniqueDevices: number): Metrics {
  const sum = (pick: (r: TelemetryRollupsTable) => number) => rows.reduce((n, r) => n + Number(pick(r)), 0);
  const sessions = sum((r) => r.sessions);
  const crashed = sum((r) => r.crashed_sessions);
  const stops = sum((r) => r.session_stops);
  const sessionMs = sum((r) => r.session_ms);
  return {
    events: sum((r) => r.events),
    starts: sum((r) => r.starts),
    unique_devices: uniqueDevices,
    sessions,
    avg_session_seconds: stops === 0 ? null : round(sessionMs / stops / 1000),
    total_session_seconds: round(sessionMs / 1000),
    crashes: sum((r) => r.crashes),
    lua_errors: sum((r) => r.lua_errors),
    crashed_sessions: crashed,
    crash_free_sessions_percent: sessions === 0 ? null : round((100 * (sessions - crashed)) / sessions),
    screen_views: sum((r) => r.screen_views),
    button_clicks: sum((r) => r.button_clicks),
    features_used: sum((r) => r.features_used),
    perf: {
      frame_ms: percentiles(rows.map((r) => r.frame_ms)),
      memory_mb: percentiles(rows.map((r) => r.memory_mb)),
      startup_ms: percentiles(rows.map((r) => r.startup_ms)),
    },
  };
}

/**
 * Totals over a range. Unique devices are exact when the range has one bucket with data (that
 * bucket's exact count); over more, a device seen in two buckets must count once, so they come from
 * the union of the buckets' HyperLogLogs (standard error about 1.6 %).
 */
export function totalsOf(rows: readonly TelemetryRollupsTable[]): Totals {
  if (rows.length <= 1) return { ...metricsOf(rows, Number(rows[0]?.unique_devices ?? 0)), unique_devices_approximate: false };
  const hll = DistinctSketch.empty();
  for (const r of rows) if (r.devices_hll) hll.merge(DistinctSketch.decode(r.devices_hll));
  return { ...metricsOf(rows, hll.estimate()), unique_devices_approximate: true };
}

/** One point per bucket of [from, to), zeros where nothing happened (charts need the gaps). */
export function seriesOf(rows: readonly TelemetryRollupsTable[], from: number, to: number, granularity: Granularity): (Metrics & { bucket: string })[] {
  const byBucket = new Map(rows.map((r) => [r.bucket, r]));
  const points: (Metrics & { bucket: string })[] = [];
  for (let t = from; t < to; t += bucketMs(granularity)) {
    const row = byBucket.get(bucketKey(t, granularity));
    points.push({ bucket: new Date(t).toISOString(), ...metricsOf(row ? [row] : [], Number(row?.unique_devices ?? 0)) });
  }
  return points;
}

/** Rows of one version (or of every version together). */
export function ofVersion(rows: readonly TelemetryRollupsTable[], versionCode: number = ALL_VERSIONS): TelemetryRollupsTable[] {
  return rows.filter((r) => Number(r.version_code) === versionCode);
}

const CSV_COLUMNS = [
  'bucket',
  'events',
  'starts',
  'unique_devices',
  'sessions',
  'avg_session_seconds',
  'total_session_seconds',
  'crashes',
  'lua_errors',
  'crashed_sessions',
  'crash_free_sessions_percent',
  'screen_views',
  'button_clicks',
  'features_used',
  'frame_ms_p50',
  'frame_ms_p95',
  'frame_ms_p99',
  'memory_mb_p50',
  'memory_mb_p95',
  'memory_mb_p99',
  'startup_ms_p50',
  'startup_ms_p95',
  'startup_ms_p99',
] as const;

/** The series as CSV (RFC 4180): only numbers and ISO times, nothing a spreadsheet could run. */
export function seriesCsv(points: readonly (Metrics & { bucket: string })[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  const cell = (v: number | null) => (v === null ? '' : String(v));
  for (const p of points) {
    const perf = [p.perf.frame_ms, p.perf.memory_mb, p.perf.startup_ms].flatMap((x) => [x.p50, x.p95, x.p99]);
    lines.push(
      [
        p.bucket,
        ...[p.events, p.starts, p.unique_devices, p.sessions, p.avg_session_seconds, p.total_session_seconds, p.crashes, p.lua_errors, p.crashed_sessions, p.crash_free_sessions_percent, p.screen_views, p.button_clicks, p.features_used, ...perf].map(cell),
      ].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
