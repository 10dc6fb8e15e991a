import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../db/index.js';
import type { TelemetryDb } from '../../db/telemetry.js';
import type { JobQueue } from '../../jobs/index.js';
import type { Actor, Clock } from '../../shared/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import type { AppsService } from '../apps/index.js';
import type { DeviceIds } from '../store/index.js';
import { versionsError, type SessionHealth, type VersionHealth } from '../versions/index.js';
import { bucketKey, bucketMs, floorTo, MAX_BUCKETS, ofVersion, seriesCsv, seriesOf, totalsOf, type Granularity } from './analytics.js';
import { crashSignature } from './crash-signature.js';
import { telemetryKey } from './telemetry-keys.js';
import type { CrashRow, EventRow } from './telemetry-store.js';
import type { TelemetryWriter } from './telemetry-writer.js';
import { telemetryError } from './telemetry.errors.js';
import * as repo from './telemetry.repository.js';
import {
  eventSchema,
  type AnalyticsQuery,
  type AnalyticsResponse,
  type CrashBody,
  type CrashGroupResponse,
  type EventsBody,
  type EventType,
  type RejectReason,
  type TelemetryEvent,
} from './telemetry.schemas.js';
import type { CrashGroupStatus, TelemetryCrashGroupsTable, TelemetryCrashVersionsTable } from './telemetry.table.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Events stamped further ahead than this (a device clock set wrong) are dropped and counted. */
export const MAX_AHEAD_MS = 24 * HOUR_MS;
/** Events older than this are dropped and counted: the rollups have long moved on. */
export const MAX_BEHIND_MS = 30 * DAY_MS;
/**
 * Distinct (package, version) pairs one batch may name. Each new pair is a lookup in the portal's
 * database on the request's path: without a bound, 500 made-up pairs a batch would be 1 000 point
 * reads (SQLite: on the event loop) for one request.
 */
export const MAX_APP_VERSIONS_PER_BATCH = 10;
/** Rejected events described one by one in an answer (the counts cover all of them). */
const MAX_ERRORS = 20;
/** How long a known (package, version) is remembered, and an unknown one. */
const KNOWN_TTL_MS = 60_000;
const UNKNOWN_TTL_MS = 5_000;
const MAX_REMEMBERED = 10_000;
/** The crash guard's window: a version's sessions of the last day. */
const HEALTH_WINDOW_MS = 24 * HOUR_MS;

/** The measure each event type contributes to the rollups (percentiles, session length). */
const VALUE_OF: Partial<Record<EventType, string>> = {
  app_stop: 'duration_ms',
  perf_frame: 'avg_ms',
  perf_memory: 'used_mb',
  perf_startup: 'duration_ms',
};

type Resolved = { appId: string; versionCode: number } | 'unknown_app' | 'unknown_version';

export interface IngestResult {
  accepted: number;
  rejected: number;
  discarded: number;
  reasons: Partial<Record<RejectReason, number>>;
  errors: { index: number; reason: RejectReason; detail: string }[];
}

export interface AnalyticsAnswer {
  json: AnalyticsResponse;
  csv: string;
}

/**
 * Telemetry: what devices send (events and crash reports, written by the telemetry writer thread),
 * and what developers read of it (analytics from the rollups, crash groups). Device ids are hashed
 * with the portal's device key before anything is kept; IP addresses are never kept.
 */
export class TelemetryService implements VersionHealth {
  private readonly known = new Map<string, { value: Resolved; until: number }>();
  private reader: TelemetryDb | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      deviceIds: DeviceIds;
      apps: AppsService;
      writer: TelemetryWriter;
      /** Opens the read connection (after the writer has made and migrated the telemetry file). */
      openReader: () => TelemetryDb;
      retentionDays: number;
      /** Whether any telemetry was ever written (so an idle portal's jobs need not start the writer). */
      hasTelemetry: () => Promise<boolean>;
      jobs: JobQueue;
      log: Logger;
    },
  ) {
    deps.jobs.define(ROLLUP_JOB, { schedule: '* * * * *', maxAttempts: 1, timeoutMs: 10 * 60_000, handler: async () => void (await this.rollUp()) });
    deps.jobs.define(RETENTION_JOB, {
      schedule: '41 * * * *',
      maxAttempts: 3,
      timeoutMs: 60 * 60_000,
      handler: async () => {
        const pruned = await this.prune();
        if (pruned.events + pruned.reports > 0) deps.log.info(pruned, 'pruned raw telemetry past its retention');
      },
    });
  }

  /** Checks each event on its own, keeps the good ones and answers once they are on disk. */
  async ingestEvents(body: EventsBody): Promise<IngestResult> {
    const result: IngestResult = { accepted: 0, rejected: 0, discarded: 0, reasons: {}, errors: [] };
    if (body.opt_out === true) {
      result.discarded = body.events.length;
      return result;
    }
    const now = this.deps.clock.now().getTime();
    const deviceKey = telemetryKey(this.deps.deviceIds.hash(body.device_id));
    const sessionKey = telemetryKey(this.deps.deviceIds.hash(`session\n${body.device_id}\n${body.session_id}`));
    const reject = (index: number, reason: RejectReason, detail: string) => {
      result.rejected += 1;
      result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
      if (result.errors.length < MAX_ERRORS) result.errors.push({ index, reason, detail });
    };
    const rows: EventRow[] = [];
    const resolvedHere = new Map<string, Resolved>();
    for (const [index, raw] of body.events.entries()) {
      const parsed = eventSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        reject(index, 'invalid', issue ? `${['events', index, ...issue.path].join('.')}: ${issue.message}` : 'not a valid event');
        continue;
      }
      const event = parsed.data as unknown as TelemetryEvent;
      const window = this.outsideWindow(event.timestamp, now);
      if (window) {
        reject(index, window, window === 'too_new' ? 'timestamp more than 24 hours ahead of the portal' : 'timestamp more than 30 days old');
        continue;
      }
      const packageId = event.app_id ?? body.app_id;
      const version = event.app_version ?? body.app_version;
      const pair = `${packageId}\n${version}`;
      // A batch's events mostly share its app and version: looked up once per batch.
      let resolved = resolvedHere.get(pair);
      if (resolved === undefined) {
        if (resolvedHere.size >= MAX_APP_VERSIONS_PER_BATCH) {
          reject(index, 'invalid', `a batch may name at most ${MAX_APP_VERSIONS_PER_BATCH} app versions`);
          continue;
        }
        resolvedHere.set(pair, (resolved = await this.resolve(packageId, version)));
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
    if (rows.length > 0) await this.deps.writer.append(now, rows, []);
    result.accepted = rows.length;
    return result;
  }

  /** Files a crash report into its group (by normalized stack) and answers once it is on disk. */
  async ingestCrash(body: CrashBody): Promise<{ accepted: boolean; reason: RejectReason | null; group_id: string | null }> {
    if (body.opt_out === true) return { accepted: false, reason: null, group_id: null };
    const now = this.deps.clock.now().getTime();
    const window = this.outsideWindow(body.timestamp, now);
    if (window) return { accepted: false, reason: window, group_id: null };
    const resolved = await this.resolve(body.app_id, body.app_version);
    if (typeof resolved === 'string') return { accepted: false, reason: resolved, group_id: null };
    const { crash } = body;
    const signature = crashSignature(crash);
    const groupId = `cg_${createHash('sha256').update(`${resolved.appId}\n${signature.signature}`).digest('hex').slice(0, 24)}`;
    const at = new Date(body.timestamp).toISOString();
    const row: CrashRow = {
      app_id: resolved.appId,
      version_code: resolved.versionCode,
      version: body.app_version,
      device_hash: this.deps.deviceIds.hash(body.device_id),
      at_ms: body.timestamp,
      group_id: groupId,
      signature: signature.signature,
      title: signature.title,
      crash_type: crash.type,
      frames: JSON.stringify(signature.frames),
      crash: JSON.stringify(crash),
      sample: JSON.stringify({ message: crash.message, stack_trace: crash.stack_trace, context: crash.context ?? null, version: body.app_version, mosis_version: body.mosis_version, at }),
    };
    await this.deps.writer.append(now, [], [row]);
    return { accepted: true, reason: null, group_id: groupId };
  }

  /** Erases what is kept raw of a device; says nothing of whether there was any. */
  async forgetDevice(deviceId: string): Promise<void> {
    await this.deps.writer.forgetDevice(this.deps.deviceIds.hash(deviceId));
  }

  /** Adds newly arrived events to the hourly and daily aggregates (a job, every minute). */
  async rollUp(): Promise<{ events: number }> {
    if (!(await this.inUse())) return { events: 0 };
    return this.deps.writer.rollUp(this.deps.clock.now().getTime());
  }

  /** Drops raw events and crash reports past their retention (a job, hourly). */
  async prune(): Promise<{ events: number; reports: number }> {
    if (!(await this.inUse())) return { events: 0, reports: 0 };
    return this.deps.writer.prune(this.deps.clock.now().getTime(), this.deps.retentionDays);
  }

  /** A portal no device has sent anything to has nothing to roll up: its jobs start no thread. */
  private async inUse(): Promise<boolean> {
    return this.deps.writer.started || (await this.deps.hasTelemetry());
  }

  async analytics(actor: Actor, appId: string, query: AnalyticsQuery): Promise<AnalyticsAnswer> {
    await this.deps.apps.owned(actor, appId);
    const granularity: Granularity = query.granularity;
    const size = bucketMs(granularity);
    const now = this.deps.clock.now().getTime();
    const to = Math.ceil((query.to === undefined ? now + 1 : parseInstant(query.to)) / size) * size;
    const from = floorTo(query.from === undefined ? to - (granularity === 'hour' ? DAY_MS : 7 * DAY_MS) : parseInstant(query.from), granularity);
    if (!(from < to)) throw telemetryError('analytics_range_invalid', '`from` must be before `to`.');
    if ((to - from) / size > MAX_BUCKETS[granularity]) {
      throw telemetryError('analytics_range_invalid', `At most ${MAX_BUCKETS[granularity]} ${granularity}s at a time; narrow the range or use granularity=day.`);
    }
    const names = await repo.versionNames(this.deps.db, appId);
    let versionCode: number | null = null;
    if (query.version !== undefined) {
      versionCode = await repo.versionCodeOf(this.deps.db, appId, query.version);
      if (versionCode === null) throw versionsError('version_not_found', `This app has no version ${query.version}.`);
    }
    const rows = await repo.rollups(await this.read(), appId, granularity, bucketKey(from, granularity), bucketKey(to, granularity));
    const selected = ofVersion(rows, versionCode ?? 0);
    const series = seriesOf(selected, from, to, granularity);
    const codes = [...new Set(rows.map((r) => Number(r.version_code)).filter((c) => c !== 0 && (versionCode === null || c === versionCode)))].sort((a, b) => b - a);
    const json: AnalyticsResponse = {
      app_id: appId,
      granularity,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      version: query.version ?? null,
      series,
      totals: totalsOf(selected),
      by_version: codes.map((code) => ({ version_code: code, version: names.get(code) ?? null, totals: totalsOf(ofVersion(rows, code)) })),
    };
    return { json, csv: seriesCsv(series) };
  }

  async crashGroups(actor: Actor, appId: string, query: { status?: CrashGroupStatus; limit: number; cursor?: string }): Promise<Page<CrashGroupResponse>> {
    await this.deps.apps.owned(actor, appId);
    const cursor = decodeCursor(query.cursor);
    const after = cursor === undefined ? undefined : { lastSeen: cursor.slice(0, cursor.lastIndexOf('|')), id: cursor.slice(cursor.lastIndexOf('|') + 1) };
    const db = await this.read();
    const rows = await repo.crashGroups(db, appId, { ...(query.status ? { status: query.status } : {}), ...(after ? { after } : {}), limit: query.limit });
    const versions = await repo.crashVersions(db, rows.slice(0, query.limit).map((r) => r.id));
    return toPage(rows, query.limit, (r) => `${r.last_seen}|${r.id}`, (r) => crashGroupOf(r, versions));
  }

  async crashGroup(actor: Actor, appId: string, groupId: string): Promise<CrashGroupResponse> {
    await this.deps.apps.owned(actor, appId);
    const db = await this.read();
    const row = await repo.crashGroup(db, appId, groupId);
    if (!row) throw telemetryError('crash_group_not_found', 'This app has no such crash group.');
    return crashGroupOf(row, await repo.crashVersions(db, [row.id]));
  }

  /** Sets a group's status: resolved (reopens when a newer version crashes the same way), ignored, open. */
  async updateCrashGroup(actor: Actor, appId: string, groupId: string, status: CrashGroupStatus): Promise<CrashGroupResponse> {
    await this.deps.apps.owned(actor, appId);
    const changed = await this.deps.writer.setCrashStatus(appId, groupId, status, this.deps.clock.now().getTime());
    if (!changed) throw telemetryError('crash_group_not_found', 'This app has no such crash group.');
    return this.crashGroup(actor, appId, groupId);
  }

  /** The crash guard's signal: a version's sessions and crash-free sessions over the last day. */
  async sessionsOf(versionId: string): Promise<SessionHealth | null> {
    const version = await repo.versionById(this.deps.db, versionId);
    if (!version) return null;
    const now = this.deps.clock.now().getTime();
    const { sessions, crashed } = await repo.versionSessions(await this.read(), version.app_id, version.version_code, bucketKey(now - HEALTH_WINDOW_MS, 'hour'), bucketKey(now + HOUR_MS, 'hour'));
    if (sessions === 0) return null;
    return { sessions, crashFreeSessions: Math.max(0, sessions - crashed) };
  }

  /** Stops using the read connection (the writer is closed by the core). */
  async close(): Promise<void> {
    await this.reader?.destroy();
    this.reader = undefined;
  }

  private async read(): Promise<TelemetryDb> {
    if (this.reader) return this.reader;
    // The writer makes and migrates the telemetry file; reads wait for it the first time.
    await this.deps.writer.start();
    this.reader ??= this.deps.openReader();
    return this.reader;
  }

  private outsideWindow(at: number, now: number): 'too_new' | 'too_old' | null {
    if (at > now + MAX_AHEAD_MS) return 'too_new';
    if (at < now - MAX_BEHIND_MS) return 'too_old';
    return null;
  }

  /** The app and version code a device names, remembered a minute (an unknown one a few seconds). */
  private async resolve(packageId: string, version: string): Promise<Resolved> {
    const key = `${packageId}\n${version}`;
    const now = Date.now();
    const remembered = this.known.get(key);
    if (remembered && remembered.until > now) return remembered.value;
    const appId = await repo.appIdOfPackage(this.deps.db, packageId);
    let value: Resolved = 'unknown_app';
    if (appId !== null) {
      const code = await repo.versionCodeOf(this.deps.db, appId, version);
      value = code === null ? 'unknown_version' : { appId, versionCode: code };
    }
    // Bounded: a flood of made-up package ids cannot grow it; clearing costs one lookup per pair.
    if (this.known.size >= MAX_REMEMBERED) this.known.clear();
    this.known.set(key, { value, until: now + (typeof value === 'string' ? UNKNOWN_TTL_MS : KNOWN_TTL_MS) });
    return value;
  }
}

export const ROLLUP_JOB = 'telemetry.rollup';
export const RETENTION_JOB = 'telemetry.retention';

function parseInstant(value: string): number {
  return Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
}

function crashGroupOf(row: TelemetryCrashGroupsTable, versions: readonly TelemetryCrashVersionsTable[]): CrashGroupResponse {
  return {
    id: row.id,
    app_id: row.app_id,
    title: row.title,
    crash_type: row.crash_type,
    frames: JSON.parse(row.frames) as string[],
    status: row.status,
    crashes: Number(row.crashes),
    devices: Number(row.devices),
    first_seen: row.first_seen,
    last_seen: row.last_seen,
    versions: versions
      .filter((v) => v.group_id === row.id)
      .map((v) => ({ version: v.version, version_code: Number(v.version_code), crashes: Number(v.crashes), first_seen: v.first_seen, last_seen: v.last_seen })),
    sample: JSON.parse(row.sample) as CrashGroupResponse['sample'],
  };
}

