import { commonError } from './common.errors.js';

/** Every role, declared once: types, schemas and config derive from it. */
export const ROLES = ['developer', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

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
  /**
   * Set when the caller is an API key: the key, when it stops working (null: never), and the apps
   * it is restricted to (null: every app of its owner).
   */
  readonly apiKey?: { readonly id: string; readonly expiresAt: string | null; readonly appIds: readonly string[] | null };
}

const restricted = () => commonError('api_key_app_restricted', 'This API key is restricted to other apps.');

/**
 * An API key restricted to some apps acts only on those apps. Services call this before they look
 * the app up, so a restricted key learns nothing about other apps, its owner's or anyone's.
 */
export function assertMayActOnApp(actor: Actor, appId: string): void {
  const appIds = actor.apiKey?.appIds;
  if (appIds && !appIds.includes(appId)) throw restricted();
}

/**
 * For account-wide actions (creating an app, managing keys): a key restricted to some apps may not,
 * or it could widen itself (a new unrestricted key) or act outside its apps.
 */
export function assertNotAppRestricted(actor: Actor): void {
  if (actor.apiKey?.appIds) throw restricted();
}

/** The apps a restricted API key may see in a list; null when the caller is not restricted. */
export function appRestriction(actor: Actor): readonly string[] | null {
  return actor.apiKey?.appIds ?? null;
}
