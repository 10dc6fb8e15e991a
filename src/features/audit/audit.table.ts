import type { Selectable } from 'kysely';

/** One security-relevant event. Rows are only ever inserted: the log is append-only. */
export interface AuditLogTable {
  id: string;
  at: string;
  /** Who did it; null when nobody was signed in (a failed login). */
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  /** JSON object with action-specific facts; never a secret. */
  details: string;
}

export type AuditEntry = Selectable<AuditLogTable>;
