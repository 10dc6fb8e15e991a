import type { Executor } from '../../db/index.js';
import { VERSION_EVENT_TYPES, type NewVersion, type Version, type VersionStatus } from './versions.table.js';

export async function insertVersion(db: Executor, version: NewVersion): Promise<Version> {
  return db.insertInto('versions').values(version).returningAll().executeTakeFirstOrThrow();
}

/** A version with the name of the reviewer who decided on it (null: undecided, or the account is gone). */
export type ReviewedVersion = Version & { reviewer_name: string | null };

function versionsWithReviewer(db: Executor) {
  return db.selectFrom('versions').leftJoin('users as reviewer', 'reviewer.id', 'versions.reviewer_id').selectAll('versions').select('reviewer.name as reviewer_name');
}

export function findVersion(db: Executor, appId: string, id: string): Promise<ReviewedVersion | undefined> {
  return versionsWithReviewer(db).where('versions.app_id', '=', appId).where('versions.id', '=', id).executeTakeFirst();
}

export function listVersions(db: Executor, appId: string, options: { status?: VersionStatus; before?: string; limit: number }): Promise<ReviewedVersion[]> {
  let query = versionsWithReviewer(db).where('versions.app_id', '=', appId);
  if (options.status) query = query.where('versions.status', '=', options.status);
  if (options.before) query = query.where('versions.id', '<', options.before);
  return query.orderBy('versions.id', 'desc').limit(options.limit + 1).execute();
}

/** The highest version code that counts (failed uploads do not hold theirs). */
export async function highestVersionCode(db: Executor, appId: string): Promise<number> {
  const row = await db
    .selectFrom('versions')
    .select((eb) => eb.fn.max('version_code').as('max'))
    .where('app_id', '=', appId)
    .where('status', '<>', 'failed')
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

export async function hasPackage(db: Executor, appId: string, sha256: string): Promise<boolean> {
  const row = await db
    .selectFrom('versions')
    .select('id')
    .where('app_id', '=', appId)
    .where('sha256', '=', sha256)
    .where('status', '<>', 'failed')
    .executeTakeFirst();
  return row !== undefined;
}

/** Manifest JSON of the latest published version, for permission comparisons. */
export async function latestPublishedManifest(db: Executor, appId: string): Promise<string | null> {
  const row = await db
    .selectFrom('versions')
    .select('manifest')
    .where('app_id', '=', appId)
    .where('status', '=', 'published')
    .orderBy('version_code', 'desc')
    .executeTakeFirst();
  return row?.manifest ?? null;
}

export async function updateReleaseNotes(db: Executor, appId: string, id: string, releaseNotes: string | null): Promise<boolean> {
  const result = await db.updateTable('versions').set({ release_notes: releaseNotes }).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Whether any version (failed ones excepted: their bytes were never kept) still needs this blob. */
export async function isPackageReferenced(db: Executor, sha256: string): Promise<boolean> {
  const row = await db.selectFrom('versions').select('id').where('sha256', '=', sha256).where('status', '<>', 'failed').executeTakeFirst();
  return row !== undefined;
}

export function findVersionById(db: Executor, id: string): Promise<Version | undefined> {
  return db.selectFrom('versions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Versions of a developer's apps still waiting for their checks. */
export async function countProcessing(db: Executor, ownerId: string): Promise<number> {
  const row = await db
    .selectFrom('versions')
    .innerJoin('apps', 'apps.id', 'versions.app_id')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('apps.owner_id', '=', ownerId)
    .where('versions.status', '=', 'processing')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Records what the checks found on a version still `processing`; false when it no longer is. */
export async function recordCheck(
  db: Executor,
  id: string,
  check: Pick<Version, 'version' | 'version_code' | 'permissions' | 'manifest' | 'checks' | 'files' | 'checked_at'> & { status: 'pending_review' | 'failed' },
): Promise<boolean> {
  const result = await db.updateTable('versions').set(check).where('id', '=', id).where('status', '=', 'processing').executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Most entries a version's history answers: far more than any version's lifecycle makes. */
export const MAX_HISTORY_EVENTS = 1000;

export interface VersionEventRow {
  id: number;
  type: string;
  actor_id: string | null;
  payload: string;
  created_at: string;
}

/**
 * The app's version events whose payload names the version (its own `version_id`, or another
 * version's publish that `superseded` it, or a yank that `restored` it), oldest first. The app's
 * index (events_app) bounds the scan; the LIKE is only a filter on text every dialect stores the
 * same way (JSON.stringify), and the caller checks each payload again after parsing it.
 */
export async function versionEvents(db: Executor, appId: string, versionId: string): Promise<VersionEventRow[]> {
  const rows = await db
    .selectFrom('events')
    .select(['id', 'type', 'actor_id', 'payload', 'created_at'])
    .where('app_id', '=', appId)
    .where('type', 'in', [...VERSION_EVENT_TYPES])
    // Ids are UUIDs (hex and hyphens): nothing in them is a LIKE wildcard.
    .where('payload', 'like', `%"${versionId}"%`)
    .orderBy('id')
    .limit(MAX_HISTORY_EVENTS)
    .execute();
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}
