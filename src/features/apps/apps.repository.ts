import type { Executor } from '../../db/index.js';
import type { App, AppStatus, NewApp } from './apps.table.js';

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
  options: { status?: AppStatus; before?: string; limit: number },
): Promise<App[]> {
  let query = db.selectFrom('apps').selectAll().where('owner_id', '=', ownerId);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.before) query = query.where('id', '<', options.before);
  return query.orderBy('id', 'desc').limit(options.limit + 1).execute();
}
