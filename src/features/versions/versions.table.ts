import type { Insertable, Selectable } from 'kysely';

export type VersionStatus =
  | 'processing'
  | 'failed'
  | 'pending_review'
  | 'approved'
  | 'rejected'
  | 'published'
  | 'yanked';

export type Channel = 'stable' | 'beta';

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
