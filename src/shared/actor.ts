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
 * Who is calling, as services see it. A user signed in with a password or OAuth acts with all of
 * their rights (`scopes: null`); an API key narrows them to its scopes.
 */
export interface Actor {
  readonly userId: string;
  readonly role: Role;
  readonly scopes: readonly Scope[] | null;
}
