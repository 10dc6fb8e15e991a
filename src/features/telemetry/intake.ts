import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { FieldError } from '../../shared/index.js';
import type { DeviceIds } from '../../storage/index.js';
import { crashSignature } from './crash-signature.js';
import type { DeviceBudget } from './device-budget.js';
import { telemetryKey } from './telemetry-keys.js';
import type { CrashRow, EventRow } from './telemetry-store.js';
import { crashBody, eventSchema, eventsBody, type EventType, type RejectReason, type TelemetryEvent } from './telemetry.schemas.js';
import type { Resolved, VersionResolver } from './version-resolver.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Events stamped further ahead than this (a device clock set wrong) are dropped and counted. */
export const MAX_AHEAD_MS = 24 * HOUR_MS;
/** Events older than this are dropped and counted: the rollups have long moved on. */
export const MAX_BEHIND_MS = 30 * DAY_MS;
/**
 * Distinct (package, version) pairs one batch may name. Each new pair is a lookup in the portal's
 * database: without a bound, 500 made-up pairs a batch would be 1 000 point reads for one request.
 */
export const MAX_APP_VERSIONS_PER_BATCH = 10;
/** Rejected events described one by one in an answer (the counts cover all of them). */
const MAX_ERRORS = 20;
/**
 * The fewest bytes an event takes in a batch (`{"type":"app_start","timestamp":0},` is 36): a body
 * of n bytes holds at most n / 36 events, which is what the writer's queue counts it as until it
 * has been read (telemetry-writer.ts).
 */
export const MIN_EVENT_BYTES = 36;

/** The measure each event type contributes to the rollups (percentiles, session length). */
const VALUE_OF: Partial<Record<EventType, string>> = {
  app_stop: 'duration_ms',
  perf_frame: 'avg_ms',
  perf_memory: 'used_mb',
  perf_startup: 'duration_ms',
};

export interface IngestResult {
  accepted: number;
  rejected: number;
  discarded: number;
  reasons: Partial<Record<RejectReason, number>>;
  errors: { index: number; reason: RejectReason; detail: string }[];
}

/** Why a whole request is refused (the HTTP layer answers it as problem+json). */
export interface Refusal {
  code: 'validation_failed' | 'malformed_json' | 'rate_limited';
  detail: string;
  errors?: FieldError[];
  /** rate_limited: seconds until the device may send again. */
  retryAfter?: number;
}

/** What a crash report's answer says. */
export interface CrashAnswer {
  accepted: boolean;
  reason: RejectReason | null;
  group_id: string | null;
}

type Checked<T> = ({ ok: true } & T) | { ok: false; refusal: Refusal };
export type CheckedBatch = Checked<{ result: IngestResult; rows: EventRow[] }>;
export type CheckedCrash = Checked<{ answer: CrashAnswer; row: CrashRow | null }>;

/** What checking a device's request needs (all of it in the telemetry thread). */
export interface IntakeDeps {
  deviceIds: DeviceIds;
  versions: VersionResolver;
  budget: DeviceBudget;
}

/** Whether an event's time is outside what the portal keeps (24 hours ahead, 30 days behind). */
export function outsideWindow(at: number, now: number): 'too_new' | 'too_old' | null {
  if (at > now + MAX_AHEAD_MS) return 'too_new';
  if (at < now - MAX_BEHIND_MS) return 'too_old';
  return null;
}

/**
 * Reads a batch of events as the device sent it (the request body's bytes) and checks every event
 * on its own: the good ones become rows, the others are counted by reason. Runs in the telemetry
 * thread, so neither the JSON nor 500 schema checks cost the event loop that serves requests.
 */
export async function checkBatch(body: Uint8Array, now: number, deps: IntakeDeps): Promise<CheckedBatch> {
  const read = readCharged(body, eventsBody, now, deps);
  if (!read.ok) return read;
  const { value: batch, deviceHash } = read;
  const result: IngestResult = { accepted: 0, rejected: 0, discarded: 0, reasons: {}, errors: [] };
  const rows: EventRow[] = [];
  if (batch.opt_out === true) {
    result.discarded = batch.events.length;
    return { ok: true, result, rows };
  }
  const deviceKey = telemetryKey(deviceHash);
  const sessionKey = telemetryKey(deps.deviceIds.hash(`session\n${batch.device_id}\n${batch.session_id}`));
  const reject = (index: number, reason: RejectReason, detail: string) => {
    result.rejected += 1;
    result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
    if (result.errors.length < MAX_ERRORS) result.errors.push({ index, reason, detail });
  };
  const resolvedHere = new Map<string, Resolved>();
  for (const [index, raw] of batch.events.entries()) {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      reject(index, 'invalid', issue ? `${['events', index, ...issue.path.map(String)].join('.')}: ${issue.message}` : 'not a valid event');
      continue;
    }
    const event = parsed.data as unknown as TelemetryEvent;
    const window = outsideWindow(event.timestamp, now);
    if (window) {
      reject(index, window, window === 'too_new' ? 'timestamp more than 24 hours ahead of the portal' : 'timestamp more than 30 days old');
      continue;
    }
    const packageId = event.app_id ?? batch.app_id;
    const version = event.app_version ?? batch.app_version;
    const pair = `${packageId}\n${version}`;
    // A batch's events mostly share its app and version: looked up once per batch.
    let resolved = resolvedHere.get(pair);
    if (resolved === undefined) {
      if (resolvedHere.size >= MAX_APP_VERSIONS_PER_BATCH) {
        reject(index, 'invalid', `a batch may name at most ${MAX_APP_VERSIONS_PER_BATCH} app versions`);
        continue;
      }
      resolvedHere.set(pair, (resolved = await deps.versions.resolve(packageId, version)));
    }
    if (resolved === 'unknown_app') {
      reject(index, 'unknown_app', `no app has the package id ${packageId}`);
      continue;
    }
    if (resolved === 'unknown_version') {
      reject(index, 'unknown_version', `${packageId} has no version ${version}`);
      continue;
    }
    const field = VALUE_OF[event.type];
    rows.push([resolved.appId, resolved.versionCode, deviceKey, sessionKey, event.type, event.timestamp, field === undefined ? null : (event.data[field] as number), JSON.stringify(event.data)]);
  }
  result.accepted = rows.length;
  return { ok: true, result, rows };
}

/**
 * Reads a crash report and files it into its group by the signature of its normalized stack
 * (crash-signature.ts: one bounded pass over at most 1 024 lines, here rather than on the event loop).
 */
export async function checkCrash(body: Uint8Array, now: number, deps: IntakeDeps): Promise<CheckedCrash> {
  const read = readCharged(body, crashBody, now, deps);
  if (!read.ok) return read;
  const { value: report, deviceHash } = read;
  const refused = (reason: RejectReason | null) => ({ ok: true as const, answer: { accepted: false, reason, group_id: null }, row: null });
  if (report.opt_out === true) return refused(null);
  const window = outsideWindow(report.timestamp, now);
  if (window) return refused(window);
  const resolved = await deps.versions.resolve(report.app_id, report.app_version);
  if (typeof resolved === 'string') return refused(resolved);
  const { crash } = report;
  const signature = crashSignature(crash);
  const groupId = `cg_${createHash('sha256').update(`${resolved.appId}\n${signature.signature}`).digest('hex').slice(0, 24)}`;
  const at = new Date(report.timestamp).toISOString();
  const row: CrashRow = {
    app_id: resolved.appId,
    version_code: resolved.versionCode,
    version: report.app_version,
    device_hash: deviceHash,
    at_ms: report.timestamp,
    group_id: groupId,
    signature: signature.signature,
    title: signature.title,
    crash_type: crash.type,
    frames: JSON.stringify(signature.frames),
    crash: JSON.stringify(crash),
    sample: JSON.stringify({ message: crash.message, stack_trace: crash.stack_trace, context: crash.context ?? null, version: report.app_version, mosis_version: report.mosis_version, at }),
  };
  return { ok: true, answer: { accepted: true, reason: null, group_id: groupId }, row };
}

/** A device's request read, then charged to the device's budget (by its keyed hash, which it answers too). */
function readCharged<S extends z.ZodType<{ device_id: string }>>(
  body: Uint8Array,
  schema: S,
  now: number,
  deps: IntakeDeps,
): { ok: true; value: z.output<S>; deviceHash: string } | { ok: false; refusal: Refusal } {
  const read = readBody(body, schema);
  if (!read.ok) return read;
  const deviceHash = deps.deviceIds.hash(read.value.device_id);
  const wait = deps.budget.charge(deviceHash, now);
  if (wait !== null) return limited(wait);
  return { ok: true, value: read.value, deviceHash };
}

/**
 * A request body as Fastify would have read it: the same answers for an empty or unparsable body
 * and for one that fails its schema (the Zod schema the OpenAPI document shows).
 */
function readBody<S extends z.ZodType>(body: Uint8Array, schema: S): { ok: true; value: z.output<S> } | { ok: false; refusal: Refusal } {
  if (body.byteLength === 0) return { ok: false, refusal: { code: 'validation_failed', detail: 'The request body is empty.' } };
  let json: unknown;
  try {
    // Plain JSON.parse: a `__proto__` key becomes an own property, which the strict schemas
    // refuse as an unknown field; nothing parsed here is merged into another object.
    // A byte order mark is allowed before the JSON, as Fastify's parser allowed it.
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return { ok: false, refusal: { code: 'malformed_json', detail: 'The request body is not valid JSON.' } };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    refusal: {
      code: 'validation_failed',
      detail: 'The request body is invalid.',
      errors: parsed.error.issues.map((issue) => ({ path: ['body', ...issue.path.map(String)].join('.'), message: issue.message })),
    },
  };
}

export function limited(wait: number): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { code: 'rate_limited', detail: `Too many telemetry requests; retry after ${wait} seconds.`, retryAfter: wait } };
}
