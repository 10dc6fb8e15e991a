export type Role = 'developer' | 'reviewer' | 'admin';

export const API_KEY_SCOPES = [
  'apps:read',
  'apps:write',
  'versions:upload',
  'versions:publish',
  'telemetry:read',
  'keys:manage',
] as const;
export type Scope = (typeof API_KEY_SCOPES)[number];

/**
 * How a session proved who it is (RFC 8176 `amr` values): a password, a one-time code (TOTP or a
 * recovery code) or an OAuth/OpenID provider.
 */
export type AuthMethod = 'pwd' | 'otp' | 'oauth';

/** The methods that count as a second factor for REQUIRE_2FA_ROLES. */
export const SECOND_FACTOR_METHODS: readonly AuthMethod[] = ['otp'];

export function usedSecondFactor(amr: readonly AuthMethod[]): boolean {
  return amr.some((m) => SECOND_FACTOR_METHODS.includes(m));
}

/**
 * Who is calling, as services see it. A user signed in with a password or OAuth acts with all of
 * their rights (`scopes: null`); an API key narrows them to its scopes.
 */
export interface Actor {
  readonly userId: string;
  readonly role: Role;
  readonly scopes: readonly Scope[] | null;
  /**
   * How this session signed in. Empty for API keys (a key is never a second-factor session) and
   * for sessions from before the portal recorded it.
   */
  readonly amr: readonly AuthMethod[];
  /** Set when the caller is an API key: the key, and when it stops working (null: never). */
  readonly apiKey?: { readonly id: string; readonly expiresAt: string | null };
}
