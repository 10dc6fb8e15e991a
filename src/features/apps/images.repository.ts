import type { Executor } from '../../db/index.js';
import type { AppImage, NewAppImage } from './images.table.js';

/** Icons and screenshots of several apps in one query (a page of apps must not cost a query per app). */
export function imagesOfApps(db: Executor, appIds: readonly string[]): Promise<AppImage[]> {
  if (appIds.length === 0) return Promise.resolve([]);
  return db.selectFrom('app_images').selectAll().where('app_id', 'in', appIds).orderBy('id').execute();
}

export async function insertImage(db: Executor, image: NewAppImage): Promise<AppImage> {
  return db.insertInto('app_images').values(image).returningAll().executeTakeFirstOrThrow();
}

export async function deleteIcon(db: Executor, appId: string): Promise<boolean> {
  const result = await db.deleteFrom('app_images').where('app_id', '=', appId).where('kind', '=', 'icon').executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export function listScreenshots(db: Executor, appId: string): Promise<AppImage[]> {
  return db.selectFrom('app_images').selectAll().where('app_id', '=', appId).where('kind', '=', 'screenshot').orderBy('id').execute();
}

export async function countScreenshots(db: Executor, appId: string): Promise<number> {
  const row = await db
    .selectFrom('app_images')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('app_id', '=', appId)
    .where('kind', '=', 'screenshot')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function deleteScreenshot(db: Executor, appId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('app_images').where('app_id', '=', appId).where('kind', '=', 'screenshot').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The content type of a blob that is a current icon or screenshot of some app, if it is one. */
export async function servableContentType(db: Executor, sha256: string): Promise<string | undefined> {
  const row = await db.selectFrom('app_images').select('content_type').where('sha256', '=', sha256).limit(1).executeTakeFirst();
  return row?.content_type;
}
