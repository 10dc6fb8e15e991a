import type { Executor } from '../../db/index.js';
import type { AppListing, NewAppListing } from './listings.table.js';

export function listListings(db: Executor, appId: string): Promise<AppListing[]> {
  return db.selectFrom('app_listings').selectAll().where('app_id', '=', appId).orderBy('locale').execute();
}

export function findListing(db: Executor, appId: string, locale: string): Promise<AppListing | undefined> {
  return db.selectFrom('app_listings').selectAll().where('app_id', '=', appId).where('locale', '=', locale).executeTakeFirst();
}

export async function countListings(db: Executor, appId: string): Promise<number> {
  const row = await db.selectFrom('app_listings').select((eb) => eb.fn.countAll().as('n')).where('app_id', '=', appId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Inserts the locale's listing or replaces its text, keeping the original created_at. */
export function upsertListing(db: Executor, listing: NewAppListing): Promise<AppListing> {
  return db
    .insertInto('app_listings')
    .values(listing)
    .onConflict((oc) =>
      oc.columns(['app_id', 'locale']).doUpdateSet({ name: listing.name, summary: listing.summary, description: listing.description, updated_at: listing.updated_at }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteListing(db: Executor, appId: string, locale: string): Promise<boolean> {
  const result = await db.deleteFrom('app_listings').where('app_id', '=', appId).where('locale', '=', locale).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
