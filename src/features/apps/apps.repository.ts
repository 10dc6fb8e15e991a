import type { Executor } from '../../db/index.js';
import type { App, AppStatus, AppUpdate, NewApp } from './apps.table.js';

export function insertApp(db: Executor, app: NewApp): Promise<App> {
  return db.insertInto('apps').values(app).returningAll().executeTakeFirstOrThrow();
}

export function findApp(db: Executor, id: string): Promise<App | undefined> {
  return db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The owner's apps, newest first, `limit + 1` rows so the caller can tell whether a next page exists. */
export function listOwnedApps(
  db: Executor,
  ownerId: string,
  options: { status?: AppStatus; only?: readonly string[] | null; before?: string; limit: number },
): Promise<App[]> {
  let query = db.selectFrom('apps').selectAll().where('owner_id', '=', ownerId);
  if (options.only) query = query.where('id', 'in', [...options.only]);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.before) query = query.where('id', '<', options.before);
  return query.orderBy('id', 'desc').limit(options.limit + 1).execute();
}

export function updateApp(db: Executor, id: string, changes: AppUpdate): Promise<App | undefined> {
  return db.updateTable('apps').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}

/**
 * Bumps `updated_at`, which says when anything shown about the app (listings, icon, screenshots)
 * last changed. Called first in transactions that count an app's listings or images: on
 * PostgreSQL the row lock serialises them, so two concurrent uploads cannot both pass a limit.
 */
export async function touchApp(db: Executor, id: string, now: string): Promise<void> {
  await db.updateTable('apps').set({ updated_at: now }).where('id', '=', id).execute();
}

/**
 * Deletes the app (its versions, listings and images go with it by cascade) unless a version is
 * or was live in the store. One statement, so a publish cannot slip in between check and delete.
 */
export async function deleteUnpublishedApp(db: Executor, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('apps')
    .where('id', '=', id)
    .where((eb) =>
      eb.not(eb.exists(eb.selectFrom('versions').select('versions.id').whereRef('versions.app_id', '=', 'apps.id').where('versions.status', 'in', ['published', 'yanked']))),
    )
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
