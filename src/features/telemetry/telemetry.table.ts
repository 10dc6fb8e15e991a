import type { Generated } from 'kysely';

/**
 * Telemetry's tables. On SQLite they live in their own file (DATA_DIR/telemetry.db) with its own
 * writer, so a flood of events never waits on, nor holds up, the portal's writes; on PostgreSQL
 * they sit beside the portal's tables, the raw events partitioned by the day they arrived.
 */

/** One accepted event, as it arrived. Kept TELEMETRY_RETENTION_DAYS after it arrived. */
export interface TelemetryEventsTable {
  /** Increases with every insert (never reused): the rollup follows it. */
  id: Generated<number>;
  /** `YYYY-MM-DD` (UTC) of arrival: retention drops whole days (partitions on PostgreSQL). */
  received_day: string;
  /** Arrival, epoch milliseconds. */
  received_ms: number;
  /** The portal's app id (not the package id the device sent). */
  app_id: string;
  version_code: number;
  /**
   * 48 bits of the keyed hash of the device id (telemetry-keys.ts); the raw id is never stored.
   * An integer, not the hash's text: the rollup reads millions of them.
   */
  device_key: number;
  /** 48 bits of the keyed hash of (device id, session id): sessions of different devices never merge. */
  session_key: number;
  type: string;
  /** When it happened on the device, epoch milliseconds. */
  at_ms: number;
  /** The measure rollups read: app_stop and perf_startup duration_ms, perf_frame avg_ms, perf_memory used_mb. */
  value: number | null;
  /** The event's validated data, as JSON. */
  data: string;
}

/** Hourly and daily aggregates per app and version; version_code 0 is every version together. Kept. */
export interface TelemetryRollupsTable {
  app_id: string;
  granularity: 'hour' | 'day';
  /** Start of the bucket: `YYYY-MM-DDTHH` for hours, `YYYY-MM-DD` for days (UTC). */
  bucket: string;
  version_code: number;
  events: number;
  starts: number;
  sessions: number;
  crashed_sessions: number;
  /** app_stop events that carried a session length, and their total in milliseconds. */
  session_stops: number;
  session_ms: number;
  crashes: number;
  lua_errors: number;
  unique_devices: number;
  screen_views: number;
  button_clicks: number;
  features_used: number;
  /** DDSketches (sketches.ts) of perf_frame avg_ms, perf_memory used_mb, perf_startup duration_ms. */
  frame_ms: Uint8Array | null;
  memory_mb: Uint8Array | null;
  startup_ms: Uint8Array | null;
  /** HyperLogLog of the devices: unique devices over ranges of several buckets. */
  devices_hll: Uint8Array | null;
}

/**
 * What a bucket has seen, so distinct counts stay exact per hour and per day while the rollup adds
 * events a chunk at a time: a device, a session or a crashed session (which, and of which app,
 * version and bucket, is the 48-bit `scope`) by a 48-bit `key` of its hash. Integers keep a row
 * about 20 bytes, so millions a day stay cheap to insert. Pruned with the raw events, by `day`.
 */
export interface TelemetrySeenTable {
  /** Days since 1970-01-01 of the bucket. */
  day: number;
  scope: number;
  key: number;
}

/** Small state of the telemetry writer (the rollup's position). */
export interface TelemetryStateTable {
  name: string;
  value: number;
}

export const CRASH_GROUP_STATUSES = ['open', 'resolved', 'ignored'] as const;
export type CrashGroupStatus = (typeof CRASH_GROUP_STATUSES)[number];

/** Crashes of one app with the same normalized stack (crash-signature.ts). */
export interface TelemetryCrashGroupsTable {
  id: string;
  app_id: string;
  signature: string;
  title: string;
  crash_type: string;
  /** JSON array of the normalized frames. */
  frames: string;
  status: CrashGroupStatus;
  /** The newest version code seen when the group was resolved: a crash from a newer one reopens it. */
  resolved_version_code: number | null;
  crashes: number;
  devices: number;
  first_seen: string;
  last_seen: string;
  /** JSON of the latest crash: message, stack_trace, context, version, mosis_version, at. */
  sample: string;
  updated_at: string;
}

/** A crash group's counts per version. */
export interface TelemetryCrashVersionsTable {
  group_id: string;
  version_code: number;
  version: string;
  crashes: number;
  first_seen: string;
  last_seen: string;
}

/** Which devices (keyed hashes) a crash group has hit, so "devices affected" is exact. */
export interface TelemetryCrashDevicesTable {
  group_id: string;
  device_hash: string;
}

/** Crash reports as they arrived; kept as long as the raw events. */
export interface TelemetryCrashReportsTable {
  id: Generated<number>;
  received_day: string;
  received_ms: number;
  app_id: string;
  version_code: number;
  device_hash: string;
  group_id: string;
  at_ms: number;
  /** JSON of the report's crash object. */
  crash: string;
}
