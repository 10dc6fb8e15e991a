import type { Insertable, Selectable } from 'kysely';

/** A version's lifecycle states, declared once: types and schemas derive from them. */
export const VERSION_STATUSES = ['processing', 'failed', 'pending_review', 'approved', 'rejected', 'published', 'yanked'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const CHANNELS = ['stable', 'beta'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface VersionsTable {
  id: string;
  app_id: string;
  version: string;
  version_code: number;
  status: VersionStatus;
  /** Content address of the package blob (lowercase hex). */
  sha256: string;
  size: number;
  /** JSON array of permission names (text on SQLite, text on PostgreSQL: one code path). */
  permissions: string;
  /** JSON of the validated manifest.json. */
  manifest: string;
  /** JSON array of check findings. */
  checks: string;
  release_notes: string | null;
  channel: Channel | null;
  rollout_percent: number | null;
  created_at: string;
  published_at: string | null;
}

export type Version = Selectable<VersionsTable>;
export type NewVersion = Insertable<VersionsTable>;
