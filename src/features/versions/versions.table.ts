import type { Insertable, Selectable } from 'kysely';

/** A version's lifecycle states, declared once: types and schemas derive from them. */
export const VERSION_STATUSES = ['processing', 'failed', 'pending_review', 'approved', 'rejected', 'published', 'yanked'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const REVIEW_DECISIONS = ['approve', 'reject'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** The domain events about a version: its history (GET …/versions/{version_id}/history). */
export const VERSION_EVENT_TYPES = ['version.submitted', 'version.checked', 'version.approved', 'version.rejected', 'version.published', 'version.rollout_changed', 'version.yanked', 'version.notes_changed'] as const;

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
  /** JSON array of the archive's entries `{name, size}` (null for versions from before it was kept). */
  files: string | null;
  /** When the checks finished; a `pending_review` version has waited since then. */
  checked_at: string | null;
  /** The reviewer holding a claim on the version, while claim_expires_at is in the future. */
  claimed_by: string | null;
  claim_expires_at: string | null;
  review_decision: ReviewDecision | null;
  review_notes: string | null;
  reviewer_id: string | null;
  decided_at: string | null;
  /** Base64 Ed25519 store signature (PACKAGE.md), made at approval, and the store key's id. */
  store_signature: string | null;
  store_key_id: string | null;
  /** A rollout stopped (its developer or the crash guard), and why; null while it runs. */
  halted_at: string | null;
  halt_reason: string | null;
  /** Withdrawn from the store, and the reason given. */
  yanked_at: string | null;
  yank_reason: string | null;
  /** A newer version was published on this channel: this one is no longer live. */
  superseded_at: string | null;
}

export type Version = Selectable<VersionsTable>;
export type NewVersion = Insertable<VersionsTable>;
