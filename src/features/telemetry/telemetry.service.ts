import type { Logger } from 'pino';
import type { Db } from '../../db/index.js';
import type { TelemetryDb } from '../../db/telemetry.js';
import type { JobQueue } from '../../jobs/index.js';
import type { Actor, Clock } from '../../shared/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import type { DeviceIds } from '../../storage/index.js';
import type { AppsService } from '../apps/index.js';
import { versionsError, type SessionHealth, type VersionHealth } from '../versions/index.js';
import { bucketKey, bucketMs, floorTo, MAX_BUCKETS, ofVersion, seriesCsv, seriesOf, totalsOf, type Granularity } from './analytics.js';
import type { CrashReportAnswer, DeviceAnswer, EventsAnswer } from './telemetry-thread.js';
import type { TelemetryWriter } from './telemetry-writer.js';
import { telemetryError } from './telemetry.errors.js';
import * as repo from './telemetry.repository.js';
import type { AnalyticsQuery, AnalyticsResponse, CrashGroupResponse } from './telemetry.schemas.js';
import type { CrashGroupStatus, TelemetryCrashGroupsTable, TelemetryCrashVersionsTable } from './telemetry.table.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The crash guard's window: a version's sessions of the last day. */
const HEALTH_WINDOW_MS = 24 * HOUR_MS;

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

  /**
   * A batch of events as the device sent it (the request body): read, checked (each event on its
   * own) and written by the telemetry thread; answered once the kept events are on disk.
   */
  ingestEvents(body: Uint8Array): Promise<EventsAnswer> {
    return this.deps.writer.ingestEvents(this.deps.clock.now().getTime(), body);
  }

  /** A crash report as the device sent it: filed into its group (by normalized stack), answered once on disk. */
  ingestCrash(body: Uint8Array): Promise<CrashReportAnswer> {
    return this.deps.writer.ingestCrash(this.deps.clock.now().getTime(), body);
  }

  /** Erases what is kept raw of a device; says nothing of whether there was any. */
  forgetDevice(deviceId: string): Promise<DeviceAnswer<null>> {
    return this.deps.writer.forgetDevice(this.deps.clock.now().getTime(), this.deps.deviceIds.hash(deviceId));
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

