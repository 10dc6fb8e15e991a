import type { Insertable, Selectable } from 'kysely';

/** A store listing translated into one locale; the app row itself holds the default listing. */
export interface AppListingsTable {
  app_id: string;
  /** Canonical BCP-47 tag (`en`, `de-CH`, `zh-Hant-TW`); unique per app. */
  locale: string;
  name: string;
  summary: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export type AppListing = Selectable<AppListingsTable>;
export type NewAppListing = Insertable<AppListingsTable>;
