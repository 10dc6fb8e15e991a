import type { Executor } from '../../db/index.js';
import type { Channel, Version } from './versions.table.js';

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

export async function hasLiveVersion(db: Executor, appId: string): Promise<boolean> {
  const row = await db.selectFrom('versions').select('id').where('app_id', '=', appId).where('status', '=', 'published').where('superseded_at', 'is', null).executeTakeFirst();
  return row !== undefined;
}

/** The app's status follows its versions: `published` while any is live, `draft` when none is (a suspension stays). */
export async function followAppStatus(db: Executor, appId: string, at: string): Promise<void> {
  const status = (await hasLiveVersion(db, appId)) ? 'published' : 'draft';
  await db.updateTable('apps').set({ status, updated_at: at }).where('id', '=', appId).where('status', '<>', 'suspended').where('status', '<>', status).execute();
}
