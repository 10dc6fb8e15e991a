import type { Selectable } from 'kysely';

/** A long-lived credential for scripts and CI: `mk_live_…`, only its SHA-256 is stored. */
export interface ApiKeysTable {
  id: string;
  owner_id: string;
  name: string;
  /** The first characters of the key, shown in listings so the owner can tell keys apart. */
  prefix: string;
  key_hash: string;
  /** JSON array of scopes. */
  scopes: string;
  /** JSON array of app ids the key is restricted to; null means all of the owner's apps. */
  app_ids: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
  revoked_at: string | null;
  /** The API key this one was made with; revoking that one revokes this one. Null: made by a person. */
  parent_key_id: string | null;
}

export type ApiKey = Selectable<ApiKeysTable>;
