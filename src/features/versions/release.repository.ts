import { PostgresAdapter, sql } from 'kysely';
import type { Executor } from '../../db/index.js';
import type { Channel, Version } from './versions.table.js';

/**
 * Serializes release changes of one app: on PostgreSQL the app's row is locked until the
 * transaction ends, so two publishes (or yanks) cannot each read the live versions and both act on
 * a stale view. SQLite has one writer at a time already.
 */
export async function lockAppForRelease(db: Executor, appId: string): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`select id from apps where id = ${appId} for update`.execute(db);
}

/** Versions of an app live on a channel: published, not superseded. */
export function liveOnChannel(db: Executor, appId: string, channel: Channel): Promise<Version[]> {
  return db
    .selectFrom('versions')
    .selectAll()
    .where('app_id', '=', appId)
    .where('channel', '=', channel)
    .where('status', '=', 'published')
    .where('superseded_at', 'is', null)
    .execute();
}

export async function supersede(db: Executor, ids: readonly string[], at: string): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('versions').set({ superseded_at: at }).where('id', 'in', [...ids]).execute();
}

/** Publishes an approved version; undefined when it is no longer approved (someone was faster). */
export function publishApproved(db: Executor, id: string, release: { channel: Channel; rolloutPercent: number; at: string }): Promise<Version | undefined> {
  return db
    .updateTable('versions')
    .set({ status: 'published', channel: release.channel, rollout_percent: release.rolloutPercent, published_at: release.at, halted_at: null, halt_reason: null })
    .where('id', '=', id)
    .where('status', '=', 'approved')
    .returningAll()
    .executeTakeFirst();
}

/** Changes a live version's rollout; undefined when it is not live any more. */
export function changeRollout(
  db: Executor,
  id: string,
  change: { rollout_percent?: number; halted_at?: string | null; halt_reason?: string | null },
): Promise<Version | undefined> {
  return db
    .updateTable('versions')
    .set(change)
    .where('id', '=', id)
    .where('status', '=', 'published')
    .where('superseded_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export function yank(db: Executor, id: string, reason: string, at: string): Promise<Version | undefined> {
  return db
    .updateTable('versions')
    .set({ status: 'yanked', yanked_at: at, yank_reason: reason })
    .where('id', '=', id)
    .where('status', '=', 'published')
    .returningAll()
    .executeTakeFirst();
}

/**
 * After the live version of a channel was yanked, the newest published version before it is live
 * again (devices are offered it once more); answers its id, or null when there is none.
 */
export async function restorePreviousLive(db: Executor, appId: string, channel: Channel): Promise<string | null> {
  const previous = await db
    .selectFrom('versions')
    .select('id')
    .where('app_id', '=', appId)
    .where('channel', '=', channel)
    .where('status', '=', 'published')
    .where('superseded_at', 'is not', null)
    .orderBy('version_code', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!previous) return null;
  await db.updateTable('versions').set({ superseded_at: null }).where('id', '=', previous.id).execute();
  return previous.id;
}

export async function hasLiveVersion(db: Executor, appId: string): Promise<boolean> {
  const row = await db.selectFrom('versions').select('id').where('app_id', '=', appId).where('status', '=', 'published').where('superseded_at', 'is', null).executeTakeFirst();
  return row !== undefined;
}

/** The app's status follows its versions: `published` while any is live, `draft` when none is (a suspension stays). */
export async function followAppStatus(db: Executor, appId: string, at: string): Promise<void> {
  const status = (await hasLiveVersion(db, appId)) ? 'published' : 'draft';
  await db.updateTable('apps').set({ status, updated_at: at }).where('id', '=', appId).where('status', '<>', 'suspended').where('status', '<>', status).execute();
}

/** A live, running staged rollout with its app's crash-guard rule. */
export interface GuardedRollout {
  id: string;
  app_id: string;
  version_code: number;
  rollout_percent: number;
  crash_guard_percent: number;
  crash_guard_min_sessions: number;
}

/** Live versions below 100 % whose rollout is not halted: what the crash guard watches. */
export async function guardedRollouts(db: Executor): Promise<GuardedRollout[]> {
  const rows = await db
    .selectFrom('versions as v')
    .innerJoin('apps as a', 'a.id', 'v.app_id')
    .select(['v.id', 'v.app_id', 'v.version_code', 'v.rollout_percent', 'a.crash_guard_percent', 'a.crash_guard_min_sessions'])
    .where('v.status', '=', 'published')
    .where('v.superseded_at', 'is', null)
    .where('v.halted_at', 'is', null)
    .where('v.rollout_percent', '<', 100)
    .orderBy('v.id')
    .execute();
  // PostgreSQL answers `real` columns as numbers, but be exact about it on both dialects.
  return rows.map((r) => ({ ...r, rollout_percent: Number(r.rollout_percent), crash_guard_percent: Number(r.crash_guard_percent), crash_guard_min_sessions: Number(r.crash_guard_min_sessions) }));
}

/** Halts a rollout that is still running; answers whether it did. */
export async function haltRunning(db: Executor, id: string, reason: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('versions')
    .set({ halted_at: at, halt_reason: reason })
    .where('id', '=', id)
    .where('status', '=', 'published')
    .where('superseded_at', 'is', null)
    .where('halted_at', 'is', null)
    // Raised to 100 % since the guard looked: nothing is staged any more.
    .where('rollout_percent', '<', 100)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
