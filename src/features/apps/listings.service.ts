import type { Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import { type Actor, type Clock } from '../../shared/index.js';
import { touchApp } from './apps.repository.js';
import type { AppsService } from './apps.service.js';
import * as repo from './listings.repository.js';
import type { ListingResponse, PutListingInput } from './listings.schemas.js';
import type { AppListing } from './listings.table.js';
import { appsError } from './apps.errors.js';

export interface ListingsDeps {
  db: Db;
  clock: Clock;
  apps: AppsService;
  /** Woken after a commit that appended domain events. */
  events: EventNotifier;
}

/** Generous for every language a store could ship, small enough that listing them needs no paging. */
export const MAX_LISTINGS = 100;

/** Store listings translated per locale; the app row holds the default one. */
export class ListingsService {
  constructor(private readonly deps: ListingsDeps) {}

  async list(actor: Actor, appId: string): Promise<{ items: ListingResponse[]; next_cursor: null }> {
    const app = await this.deps.apps.owned(actor, appId);
    return { items: (await repo.listListings(this.deps.db, app.id)).map(toListingResponse), next_cursor: null };
  }

  /** Creates or replaces the listing of one locale; `created` tells the route 201 from 200. */
  async put(actor: Actor, appId: string, locale: string, input: PutListingInput): Promise<{ created: boolean; listing: ListingResponse }> {
    const app = await this.deps.apps.owned(actor, appId);
    const result = await this.deps.db.transaction().execute(async (tx) => {
      const now = this.deps.clock.now().toISOString();
      // Locks the app row first so two new locales cannot both squeeze under the limit.
      await touchApp(tx, app.id, now);
      const created = !(await repo.findListing(tx, app.id, locale));
      if (created && (await repo.countListings(tx, app.id)) >= MAX_LISTINGS) {
        throw appsError('listing_limit_reached', `An app has at most ${MAX_LISTINGS} localized listings.`);
      }
      const row = await repo.upsertListing(tx, { app_id: app.id, locale, ...input, created_at: now, updated_at: now });
      await appendEvent(tx, { type: 'listing.changed', appId: app.id, actorId: actor.userId, payload: { locale, created }, at: new Date(now) });
      return { created, listing: toListingResponse(row) };
    });
    this.deps.events.notify();
    return result;
  }

  async remove(actor: Actor, appId: string, locale: string): Promise<void> {
    const app = await this.deps.apps.owned(actor, appId);
    const at = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (tx) => {
      if (!(await repo.deleteListing(tx, app.id, locale))) {
        throw appsError('listing_not_found', `This app has no listing for ${locale}.`);
      }
      await touchApp(tx, app.id, at.toISOString());
      await appendEvent(tx, { type: 'listing.changed', appId: app.id, actorId: actor.userId, payload: { locale, removed: true }, at });
    });
    this.deps.events.notify();
  }
}

function toListingResponse(row: AppListing): ListingResponse {
  return { locale: row.locale, name: row.name, summary: row.summary, description: row.description, created_at: row.created_at, updated_at: row.updated_at };
}
