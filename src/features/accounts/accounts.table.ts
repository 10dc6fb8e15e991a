import type { Generated, Insertable, Selectable } from 'kysely';

import type { Role } from '../../shared/index.js';

export type { Role };
export const USER_STATUSES = ['active', 'suspended'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

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
  /**
   * The TOTP secret once 2FA is enabled, sealed with AES-256-GCM (`enc1:…`, see
   * account-secrets.ts). A bare base32 value is a row from before sealing, upgraded at start.
   */
  totp_secret: Generated<string | null>;
  /** The secret shown by /2fa/setup (sealed the same way), until a code from it confirms /2fa/enable. */
  totp_pending_secret: Generated<string | null>;
  totp_enabled_at: Generated<string | null>;
  /** The last accepted TOTP time step: a code at or before it is never accepted again. */
  totp_last_step: Generated<number | null>;
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
  /**
   * JSON array of how the family's login proved who it was (RFC 8176 `amr`: "pwd", "otp",
   * "oauth"); every token of the family carries the same. Null for rows older than migration 0005:
   * no method known, so no second factor.
   */
  amr: string | null;
  /** When the family's login happened; null for rows older than migration 0005. */
  authenticated_at: string | null;
  /** The client that obtained this token (the login, or the refresh that rotated to it); null before migration 0016. */
  ip: string | null;
  user_agent: string | null;
}

export type EmailTokenPurpose = 'verify_email' | 'password_reset';

/** Single-use tokens sent by email; only their SHA-256 is stored. */
export interface EmailTokensTable {
  id: string;
  user_id: string;
  purpose: EmailTokenPurpose;
  token_hash: string;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

/**
 * The ten one-time codes that stand in for a lost authenticator; stored as a keyed hash
 * (`k1:` + HMAC-SHA-256, see account-secrets.ts). Rows from before that are plain SHA-256 hex
 * until the start-up upgrade rehashes them.
 */
export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: string | null;
  created_at: string;
}

/** A provider account (GitHub, Google, an OpenID issuer) linked to a portal user. */
export interface OAuthIdentitiesTable {
  id: string;
  user_id: string;
  provider: string;
  /** The provider's stable user id (`sub`, or GitHub's numeric id). */
  subject: string;
  email: string | null;
  created_at: string;
}

/** An authorization request in flight: what the callback must check (state, nonce, PKCE). */
export interface OAuthStatesTable {
  state_hash: string;
  provider: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  expires_at: string;
  created_at: string;
  /**
   * SHA-256 of the random value in the browser's OAuth cookie: only the browser that started the
   * sign-in can finish it. Null only for rows written before migration 0004; those are refused.
   */
  browser_hash: string | null;
}

/** A portal web UI session: an httpOnly cookie names it, a CSRF token guards its writes. */
export interface WebSessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_hash: string;
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
  /** JSON array of the sign-in's methods, as on refresh tokens; null for rows older than 0005. */
  amr: string | null;
  authenticated_at: string | null;
  /** The last request made with the session, written at most once a minute; null means created_at. */
  last_seen_at: string | null;
  /** The client that signed in (IP address, User-Agent), for the sessions list; null before migration 0016. */
  ip: string | null;
  user_agent: string | null;
}

export const DEVICE_AUTHORIZATION_STATUSES = ['pending', 'approved', 'denied', 'consumed'] as const;
export type DeviceAuthorizationStatus = (typeof DEVICE_AUTHORIZATION_STATUSES)[number];

/** One `mosis login` (RFC 8628 device grant), from the code's request until its API key is handed over. */
export interface DeviceAuthorizationsTable {
  id: string;
  /** SHA-256 of the device code the client polls with. */
  device_code_hash: string;
  /** The code a person types, stored without its dash (`BCDFGHJK`). */
  user_code: string;
  client_name: string;
  /** JSON array of the API key scopes asked for. */
  scopes: string;
  status: DeviceAuthorizationStatus;
  /** Who approved or denied it. */
  user_id: string | null;
  /** The API key handed over when the client collected its approval. */
  api_key_id: string | null;
  /** Seconds the client must wait between polls; grows by 5 at each slow_down. */
  interval_s: number;
  /** A poll before this instant is too fast (slow_down). */
  next_poll_at: string;
  ip: string | null;
  created_at: string;
  decided_at: string | null;
  expires_at: string;
}

export type DeviceAuthorization = Selectable<DeviceAuthorizationsTable>;
export type User = Selectable<UsersTable>;
export type EmailToken = Selectable<EmailTokensTable>;
export type OAuthIdentity = Selectable<OAuthIdentitiesTable>;
export type OAuthState = Selectable<OAuthStatesTable>;
export type WebSession = Selectable<WebSessionsTable>;
export type NewUser = Insertable<UsersTable>;
export type RefreshToken = Selectable<RefreshTokensTable>;
