import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** `draft` until a version is published; the store shows `published` apps only. */
export const APP_STATUSES = ['draft', 'published', 'suspended'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

export interface AppsTable {
  id: string;
  owner_id: string;
  /** The manifest `id` every package of this app must carry; unique across the portal. */
  package_id: string;
  name: string;
  summary: string;
  description: string;
  category: string | null;
  status: AppStatus;
  /** 1: an approved version is published at once, at its requested channel and rollout. */
  auto_publish: Generated<number>;
  /** The crash guard halts a staged rollout below this crash-free-sessions percentage… */
  crash_guard_percent: Generated<number>;
  /** …once the version has at least this many sessions. */
  crash_guard_min_sessions: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type App = Selectable<AppsTable>;
export type NewApp = Insertable<AppsTable>;
export type AppUpdate = Updateable<AppsTable>;
