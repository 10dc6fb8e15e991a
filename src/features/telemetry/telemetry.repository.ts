import type { Executor } from '../../db/index.js';
import type { TelemetryDb } from '../../db/telemetry.js';
import type { CrashGroupStatus, TelemetryCrashGroupsTable, TelemetryCrashVersionsTable, TelemetryRollupsTable } from './telemetry.table.js';

/** Versions a device may report from: every version that passed its checks (published or not yet). */
const REPORTING_STATUSES = ['pending_review', 'approved', 'rejected', 'published', 'yanked'] as const;

/** The portal's app id of a package id. */
export async function appIdOfPackage(db: Executor, packageId: string): Promise<string | null> {
  const row = await db.selectFrom('apps').select('id').where('package_id', '=', packageId).executeTakeFirst();
  return row?.id ?? null;
}

/** The version code of an app's version, as its manifest names it (the newest, should two share it). */
export async function versionCodeOf(db: Executor, appId: string, version: string): Promise<number | null> {
  const row = await db
    .selectFrom('versions')
    .select('version_code')
    .where('app_id', '=', appId)
    .where('version', '=', version)
    .where('status', 'in', REPORTING_STATUSES)
    .orderBy('version_code', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.version_code ?? null;
}

/** An app's version names by code, for the analytics' by-version breakdown. */
export async function versionNames(db: Executor, appId: string): Promise<Map<number, string>> {
  const rows = await db.selectFrom('versions').select(['version_code', 'version']).where('app_id', '=', appId).execute();
  return new Map(rows.map((r) => [r.version_code, r.version]));
}

/** A version's app and code (the crash guard asks by version id). */
export function versionById(db: Executor, versionId: string): Promise<{ app_id: string; version_code: number } | undefined> {
  return db.selectFrom('versions').select(['app_id', 'version_code']).where('id', '=', versionId).executeTakeFirst();
}

/** Rollup rows of an app in [from, to) (bucket strings), every version or one. */
export function rollups(db: TelemetryDb, appId: string, granularity: 'hour' | 'day', from: string, to: string): Promise<TelemetryRollupsTable[]> {
  return db
    .selectFrom('telemetry_rollups')
    .selectAll()
    .where('app_id', '=', appId)
    .where('granularity', '=', granularity)
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .orderBy('bucket')
    .execute();
}

/** Sessions and crashed sessions of one version over hours in [from, to). */
export async function versionSessions(db: TelemetryDb, appId: string, versionCode: number, from: string, to: string): Promise<{ sessions: number; crashed: number }> {
  const row = await db
    .selectFrom('telemetry_rollups')
    .select((eb) => [eb.fn.sum<number>('sessions').as('sessions'), eb.fn.sum<number>('crashed_sessions').as('crashed')])
    .where('app_id', '=', appId)
    .where('granularity', '=', 'hour')
    .where('version_code', '=', versionCode)
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .executeTakeFirst();
  return { sessions: Number(row?.sessions ?? 0), crashed: Number(row?.crashed ?? 0) };
}

/** An app's crash groups, most recently seen first, after a cursor position. */
export function crashGroups(
  db: TelemetryDb,
  appId: string,
  options: { status?: CrashGroupStatus; after?: { lastSeen: string; id: string }; limit: number },
): Promise<TelemetryCrashGroupsTable[]> {
  let query = db.selectFrom('telemetry_crash_groups').selectAll().where('app_id', '=', appId);
  if (options.status) query = query.where('status', '=', options.status);
  const after = options.after;
  if (after) query = query.where((eb) => eb.or([eb('last_seen', '<', after.lastSeen), eb.and([eb('last_seen', '=', after.lastSeen), eb('id', '<', after.id)])]));
  return query.orderBy('last_seen', 'desc').orderBy('id', 'desc').limit(options.limit + 1).execute();
}

export function crashGroup(db: TelemetryDb, appId: string, groupId: string): Promise<TelemetryCrashGroupsTable | undefined> {
  return db.selectFrom('telemetry_crash_groups').selectAll().where('app_id', '=', appId).where('id', '=', groupId).executeTakeFirst();
}

export function crashVersions(db: TelemetryDb, groupIds: readonly string[]): Promise<TelemetryCrashVersionsTable[]> {
  if (groupIds.length === 0) return Promise.resolve([]);
  return db.selectFrom('telemetry_crash_versions').selectAll().where('group_id', 'in', [...groupIds]).orderBy('version_code', 'desc').execute();
}
