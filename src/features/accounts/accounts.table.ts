import type { Generated, Insertable, Selectable } from 'kysely';

import type { Role } from '../../shared/index.js';

export type { Role };
export type UserStatus = 'active' | 'suspended';

export interface UsersTable {
  id: string;
  /** Stored lowercased so uniqueness ignores case on both dialects. */
  email: string;
  name: string;
  /** argon2id PHC string; null for accounts that only sign in through OAuth. */
  password_hash: string | null;
  role: Generated<Role>;
  status: Generated<UserStatus>;
  email_verified_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  /** Every token rotated from one login shares a family; reuse of a rotated token revokes it whole. */
  family_id: string;
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string;
  expires_at: string;
  created_at: string;
  /** Set when the token is exchanged for a new one. */
  rotated_at: string | null;
  revoked_at: string | null;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type RefreshToken = Selectable<RefreshTokensTable>;
