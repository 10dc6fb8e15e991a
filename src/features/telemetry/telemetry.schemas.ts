import { z } from 'zod';
import { PACKAGE_ID } from '../../package/index.js';
import { CRASH_GROUP_STATUSES } from './telemetry.table.js';

/** Most events one POST /v1/telemetry/events may carry. */
export const MAX_EVENTS_PER_BATCH = 500;
/** Largest body of POST /v1/telemetry/events and /crashes. */
export const EVENTS_BODY_BYTES = 256 * 1024;
export const CRASH_BODY_BYTES = 128 * 1024;

const packageId = z.string().max(255).regex(PACKAGE_ID, 'must be a package id such as com.example.notes');
/** An app version as the manifest gives it (semver, at most 32 characters; 64 leaves room). */
const appVersion = z.string().min(1).max(64).regex(/^[0-9A-Za-z.+-]+$/, 'must be a version such as 1.2.0');
const mosisVersion = z.string().min(1).max(32).regex(/^[0-9A-Za-z.+-]+$/, 'must be a platform version such as 1.4.0');
const opaqueId = (what: string) => z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, `must be a ${what} of 1-128 letters, digits, dots, underscores, colons or hyphens`);
export const deviceId = opaqueId('device id');

/** Text a device names things with: no control characters (they end up in CSV and in the web UI). */
const label = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
const text = (max: number) =>
  z
    .string()
    .max(max)
    // Tabs and newlines are fine in messages and traces; other control characters are not.
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'must not contain control characters');

const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;
const ms = (max: number) => z.number().min(0).max(max);

/**
 * An event's time: ISO-8601 with a zone, or epoch milliseconds. Turned into epoch milliseconds;
 * the window (24 h ahead, 30 days behind) is the service's, since it depends on the clock.
 */
export const timestamp = z.union([
  z.iso.datetime({ offset: true }).max(40).transform((v) => Date.parse(v)),
  z.number().int().min(0).max(8_640_000_000_000),
]);

/** Every event type and its data: strict, so a misspelt field is refused, not silently dropped. */
export const EVENT_DATA = {
  app_start: z.strictObject({ cold: z.boolean().optional() }),
  app_stop: z.strictObject({ duration_ms: ms(MAX_DURATION_MS) }),
  app_crash: z.strictObject({ reason: label(200).optional() }),
  lua_error: z.strictObject({ message: text(1000).min(1), source: label(200).optional() }),
  perf_frame: z.strictObject({ avg_ms: ms(60_000), p95_ms: ms(60_000) }),
  perf_memory: z.strictObject({ used_mb: ms(1_048_576), limit_mb: ms(1_048_576) }),
  perf_startup: z.strictObject({ duration_ms: ms(600_000) }),
  screen_view: z.strictObject({ screen: label(100) }),
  button_click: z.strictObject({ button: label(100), screen: label(100).optional() }),
  feature_used: z.strictObject({ feature: label(100) }),
} as const;
export type EventType = keyof typeof EVENT_DATA;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];

/** One event, checked on its own: a bad one is refused and counted, the rest of the batch goes in. */
const eventOf = <T extends EventType>(type: T, data: z.ZodType) =>
  z.strictObject({
    type: z.literal(type),
    timestamp,
    data,
    // A device's telemetry service may batch several apps: an event may name its own.
    app_id: packageId.optional(),
    app_version: appVersion.optional(),
  });
export const eventSchema = z.discriminatedUnion('type', [
  // Events that need no data may leave it out.
  eventOf('app_start', EVENT_DATA.app_start.default({})),
  eventOf('app_crash', EVENT_DATA.app_crash.default({})),
  eventOf('app_stop', EVENT_DATA.app_stop),
  eventOf('lua_error', EVENT_DATA.lua_error),
  eventOf('perf_frame', EVENT_DATA.perf_frame),
  eventOf('perf_memory', EVENT_DATA.perf_memory),
  eventOf('perf_startup', EVENT_DATA.perf_startup),
  eventOf('screen_view', EVENT_DATA.screen_view),
  eventOf('button_click', EVENT_DATA.button_click),
  eventOf('feature_used', EVENT_DATA.feature_used),
]);
export interface TelemetryEvent {
  type: EventType;
  timestamp: number;
  data: Record<string, unknown>;
  app_id?: string;
  app_version?: string;
}

export const eventsBody = z.strictObject({
  app_id: packageId.describe('The package id of the app the events come from'),
  app_version: appVersion.describe("The app's version on the device (manifest `version`)"),
  mosis_version: mosisVersion,
  device_id: deviceId.describe('Stored only as a keyed hash'),
  session_id: opaqueId('session id'),
  opt_out: z.boolean().optional().describe('true: the user declined telemetry; the batch is discarded'),
  events: z
    .array(z.unknown())
    .min(1)
    .max(MAX_EVENTS_PER_BATCH)
    .describe(`1 to ${MAX_EVENTS_PER_BATCH} events, each \`{type, timestamp, data}\`; each is checked on its own (types and data: docs/telemetry.md)`),
});
export type EventsBody = z.infer<typeof eventsBody>;

export const REJECT_REASONS = ['invalid', 'unknown_app', 'unknown_version', 'too_old', 'too_new'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const ingestResponse = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  discarded: z.number().int().describe('Events dropped because the device opted out'),
  reasons: z.partialRecord(z.enum(REJECT_REASONS), z.number().int()).describe('Rejected events by reason'),
  errors: z
    .array(z.object({ index: z.number().int(), reason: z.enum(REJECT_REASONS), detail: z.string() }))
    .describe('The first 20 rejected events: their index in `events` and why'),
});

export const crashBody = z.strictObject({
  app_id: packageId,
  app_version: appVersion,
  mosis_version: mosisVersion,
  device_id: deviceId,
  session_id: opaqueId('session id').optional(),
  opt_out: z.boolean().optional(),
  timestamp,
  crash: z.strictObject({
    type: label(100),
    message: text(4096),
    stack_trace: text(65_536),
    context: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'keys of 1-64 letters, digits, dots, underscores or hyphens'), z.union([label(500), z.number(), z.boolean()]))
      .refine((c) => Object.keys(c).length <= 32, 'at most 32 entries')
      .optional(),
  }),
});
export type CrashBody = z.infer<typeof crashBody>;

export const crashAccepted = z.object({
  accepted: z.boolean(),
  reason: z.enum(REJECT_REASONS).nullable(),
  group_id: z.string().nullable().describe('The crash group it joined'),
});

export const deviceParams = z.object({ device_id: deviceId });

const date = z.union([z.iso.date(), z.iso.datetime({ offset: true })]).describe('A date (YYYY-MM-DD, UTC) or an ISO-8601 date-time');

export const analyticsQuery = z.object({
  from: date.optional().describe('Start (inclusive); default: 7 days (day) or 24 hours (hour) before `to`'),
  to: date.optional().describe('End (exclusive); default: now'),
  granularity: z.enum(['hour', 'day']).default('day'),
  version: appVersion.optional().describe('Only this version (its `version`, e.g. 1.2.0)'),
  format: z.enum(['json', 'csv']).default('json'),
});
export type AnalyticsQuery = z.infer<typeof analyticsQuery>;

const percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable(), samples: z.number().int() });
const metrics = {
  events: z.number().int(),
  starts: z.number().int(),
  unique_devices: z.number().int(),
  sessions: z.number().int(),
  avg_session_seconds: z.number().nullable(),
  total_session_seconds: z.number(),
  crashes: z.number().int(),
  lua_errors: z.number().int(),
  crashed_sessions: z.number().int(),
  crash_free_sessions_percent: z.number().nullable(),
  screen_views: z.number().int(),
  button_clicks: z.number().int(),
  features_used: z.number().int(),
  perf: z.object({ frame_ms: percentiles, memory_mb: percentiles, startup_ms: percentiles }),
};
export const analyticsPoint = z.object({ bucket: z.string(), ...metrics });
export const analyticsTotals = z.object({
  ...metrics,
  unique_devices_approximate: z.boolean().describe('true when unique_devices over the range comes from HyperLogLog (standard error about 1.6 %)'),
});
export type AnalyticsResponse = z.infer<typeof analyticsResponse>;
export const analyticsResponse = z.object({
  app_id: z.string(),
  granularity: z.enum(['hour', 'day']),
  from: z.string(),
  to: z.string(),
  version: z.string().nullable(),
  series: z.array(analyticsPoint),
  totals: analyticsTotals,
  by_version: z.array(z.object({ version_code: z.number().int(), version: z.string().nullable(), totals: analyticsTotals })),
});

export const crashGroupParams = z.object({ app_id: z.string().min(1).max(64), group_id: z.string().regex(/^cg_[0-9a-f]{24}$/, 'must be a crash group id') });

export const crashGroupsQuery = z.object({
  status: z.enum(CRASH_GROUP_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

export const crashGroupResponse = z.object({
  id: z.string(),
  app_id: z.string(),
  title: z.string(),
  crash_type: z.string(),
  frames: z.array(z.string()),
  status: z.enum(CRASH_GROUP_STATUSES),
  crashes: z.number().int(),
  devices: z.number().int(),
  first_seen: z.string(),
  last_seen: z.string(),
  versions: z.array(z.object({ version: z.string(), version_code: z.number().int(), crashes: z.number().int(), first_seen: z.string(), last_seen: z.string() })),
  sample: z.object({
    message: z.string(),
    stack_trace: z.string(),
    context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
    version: z.string(),
    mosis_version: z.string(),
    at: z.string(),
  }),
});
export type CrashGroupResponse = z.infer<typeof crashGroupResponse>;

export const updateCrashGroupBody = z.strictObject({ status: z.enum(CRASH_GROUP_STATUSES) });
