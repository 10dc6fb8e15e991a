import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { openTelemetryReader, type TelemetryDb } from '../../src/db/telemetry.js';
import { createApp, PASSWORD, registerUser, type TestUser } from './api.js';
import { registerSigningKey, type DeveloperKey } from './packages.js';
import type { TestPortal } from './portal.js';
import { upload, type Uploaded } from './review.js';
import { telemetryKey } from '../../src/features/telemetry/telemetry-keys.js';
import type { AnalyticsResponse } from '../../src/features/telemetry/telemetry.schemas.js';

/**
 * Telemetry as a device sends it, and what the portal kept of it: shared by the
 * test/features/telemetry-*.test.ts files.
 */

export const MOSIS_VERSION = '1.4.0';

/** One event of a batch (`data` left out when undefined, as a device may for app_start). */
export function ev(type: string, timestamp: number | string, data?: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type, timestamp, ...(data === undefined ? {} : { data }), ...extra };
}

export interface Batch {
  device: string;
  session: string;
  /** The envelope's app_version (default 1.0.1, the first uploaded version). */
  version?: string;
  events: unknown[];
  opt_out?: boolean;
}

/** POST /v1/telemetry/events for one device session of `packageId`. */
export function postEvents(p: TestPortal, packageId: string, batch: Batch, remoteAddress?: string): Promise<LightMyRequestResponse> {
  return p.app.inject({
    method: 'POST',
    url: '/v1/telemetry/events',
    ...(remoteAddress ? { remoteAddress } : {}),
    payload: {
      app_id: packageId,
      app_version: batch.version ?? '1.0.1',
      mosis_version: MOSIS_VERSION,
      device_id: batch.device,
      session_id: batch.session,
      ...(batch.opt_out === undefined ? {} : { opt_out: batch.opt_out }),
      events: batch.events,
    },
  });
}

export interface IngestAnswer {
  accepted: number;
  rejected: number;
  discarded: number;
  reasons: Record<string, number>;
  errors: { index: number; reason: string; detail: string }[];
}

/** Sends a batch that must be accepted whole; answers the 202's body. */
export async function sendAll(p: TestPortal, packageId: string, batch: Batch): Promise<IngestAnswer> {
  const res = await postEvents(p, packageId, batch);
  expect(res.statusCode, res.body).toBe(202);
  const body = res.json<IngestAnswer>();
  expect(body, res.body).toMatchObject({ accepted: batch.events.length, rejected: 0 });
  return body;
}

export interface CrashReport {
  device: string;
  version?: string;
  timestamp: number | string;
  type?: string;
  message: string;
  stack_trace: string;
  context?: Record<string, unknown>;
}

export function postCrash(p: TestPortal, packageId: string, crash: CrashReport, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  return p.app.inject({
    method: 'POST',
    url: '/v1/telemetry/crashes',
    payload: {
      app_id: packageId,
      app_version: crash.version ?? '1.0.1',
      mosis_version: MOSIS_VERSION,
      device_id: crash.device,
      timestamp: crash.timestamp,
      crash: { type: crash.type ?? 'lua_error', message: crash.message, stack_trace: crash.stack_trace, ...(crash.context ? { context: crash.context } : {}) },
      ...extra,
    },
  });
}

/** Sends a crash report that must join a group; answers the group's id. */
export async function crashInto(p: TestPortal, packageId: string, crash: CrashReport): Promise<string> {
  const res = await postCrash(p, packageId, crash);
  expect(res.statusCode, res.body).toBe(202);
  const body = res.json<{ accepted: boolean; reason: string | null; group_id: string | null }>();
  expect(body, res.body).toMatchObject({ accepted: true, reason: null, group_id: expect.stringMatching(/^cg_[0-9a-f]{24}$/) });
  return body.group_id as string;
}

/** A Lua traceback as luaL_traceback prints it. */
export const traceback = (...frames: string[]): string => ['stack traceback:', ...frames.map((frame) => `\t${frame}`)].join('\n');

export interface TelemetryWorld {
  dev: TestUser;
  key: DeveloperKey & { id: string };
  app: { id: string; package_id: string };
  /** The uploaded versions, in the order asked: version code n is version `1.0.n`. */
  versions: Uploaded[];
}

/** A developer with a signing key and an app (com.example.notes) whose versions 1..n passed their checks. */
export async function telemetryWorld(p: TestPortal, versionCodes: readonly number[] = [1]): Promise<TelemetryWorld> {
  const dev = await registerUser(p, 'Dana Developer');
  const key = await registerSigningKey(p, dev);
  const app = await createApp(p, dev, 'com.example.notes');
  const versions: Uploaded[] = [];
  for (const code of versionCodes) versions.push(await upload(p, dev, app, key, code));
  return { dev, key, app, versions };
}

/** Signs the developer in again (after the clock has moved past their access token's 15 minutes). */
export async function signInAgain(p: TestPortal, user: TestUser): Promise<void> {
  const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: PASSWORD } });
  expect(login.statusCode, login.body).toBe(200);
  user.accessToken = login.json<{ access_token: string }>().access_token;
  user.auth = { authorization: `Bearer ${user.accessToken}` };
}

/**
 * Reads the telemetry database as the portal left it (DATA_DIR/telemetry.db on SQLite, the
 * portal's database on PostgreSQL), through a connection of the test's own.
 */
export async function readTelemetry<T>(p: TestPortal, read: (db: TelemetryDb) => Promise<T>): Promise<T> {
  // The writer makes and migrates the file the first time; a portal that never wrote has none yet.
  await p.core.telemetryWriter.start();
  const db = openTelemetryReader(p.config.database);
  try {
    return await read(db);
  } finally {
    await db.destroy();
  }
}

/** The raw events the portal kept of a device (by the key of its keyed hash), in arrival order. */
export function eventsOf(p: TestPortal, device: string) {
  return readTelemetry(p, (db) =>
    db
      .selectFrom('telemetry_events')
      .select(['app_id', 'version_code', 'device_key', 'session_key', 'type', 'at_ms', 'value', 'data', 'received_ms'])
      .where('device_key', '=', telemetryKey(p.core.deviceIds.hash(device)))
      .orderBy('id')
      .execute(),
  );
}

export async function countEvents(p: TestPortal): Promise<number> {
  return readTelemetry(p, async (db) => Number((await db.selectFrom('telemetry_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n));
}

/** The analytics answer as the API declares it (its Zod schema). */
export type AnalyticsBody = AnalyticsResponse;
export type Metrics = Omit<AnalyticsResponse['series'][number], 'bucket'>;

/** GET /v1/apps/{id}/analytics as the owner; must answer 200. */
export async function analytics(p: TestPortal, dev: TestUser, appId: string, query: Record<string, string>): Promise<AnalyticsBody> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/analytics`, query, headers: dev.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<AnalyticsBody>();
}

/** A bucket's point of a series (the ISO start of the hour or day). */
export function point(body: AnalyticsBody, bucket: string): Metrics & { bucket: string } {
  const found = body.series.find((s) => s.bucket === bucket);
  if (!found) throw new Error(`no point for ${bucket} in ${body.series.map((s) => s.bucket).join(', ')}`);
  return found;
}

/** The metrics of a bucket where nothing happened. */
export const NOTHING: Metrics = {
  events: 0,
  starts: 0,
  unique_devices: 0,
  sessions: 0,
  avg_session_seconds: null,
  total_session_seconds: 0,
  crashes: 0,
  lua_errors: 0,
  crashed_sessions: 0,
  crash_free_sessions_percent: null,
  screen_views: 0,
  button_clicks: 0,
  features_used: 0,
  perf: {
    frame_ms: { p50: null, p95: null, p99: null, samples: 0 },
    memory_mb: { p50: null, p95: null, p99: null, samples: 0 },
    startup_ms: { p50: null, p95: null, p99: null, samples: 0 },
  },
};

/** The exact percentile as the sketches define it: the value of rank ⌊q·(n−1)⌋ of the sorted values. */
export function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}
