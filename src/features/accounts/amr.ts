import type { AuthMethod } from '../../shared/index.js';

/** The methods of a sign-in, as stored in refresh_tokens.amr and web_sessions.amr (a JSON array). */
export type Amr = readonly AuthMethod[];

export const PASSWORD_ONLY: Amr = ['pwd'];
export const PASSWORD_AND_CODE: Amr = ['pwd', 'otp'];
export const OAUTH_ONLY: Amr = ['oauth'];

const KNOWN: readonly string[] = ['pwd', 'otp', 'oauth'] satisfies AuthMethod[];

export function isAuthMethod(value: unknown): value is AuthMethod {
  return typeof value === 'string' && KNOWN.includes(value);
}

/** A stored list; anything unreadable (or a row from before it was recorded) is "no method known". */
export function parseAmr(stored: string | null): AuthMethod[] {
  if (stored === null) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter(isAuthMethod) : [];
  } catch {
    return [];
  }
}

export function formatAmr(amr: Amr): string {
  return JSON.stringify([...new Set(amr)]);
}

export function withMethod(amr: Amr, method: AuthMethod): Amr {
  return amr.includes(method) ? amr : [...amr, method];
}
