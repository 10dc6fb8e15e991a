import { Secret, TOTP } from 'otpauth';

const PERIOD_SECONDS = 30;
const DIGITS = 6;

/** A fresh base32 secret (160 bits, RFC 4226's recommendation) from the given random bytes. */
export function newTotpSecret(random: Buffer): string {
  return new Secret({ buffer: Uint8Array.from(random.subarray(0, 20)).buffer }).base32;
}

export function totpUri(secret: string, account: string): string {
  return new TOTP({ issuer: 'Mosis Portal', label: account, secret: Secret.fromBase32(secret), digits: DIGITS, period: PERIOD_SECONDS }).toString();
}

/**
 * The time step a code belongs to, allowing one step of clock skew either way (RFC 6238 §5.2), or
 * null when it matches none. The caller must still refuse a step it has already accepted.
 */
export function matchTotp(secret: string, code: string, at: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = TOTP.validate({ token: code, secret: Secret.fromBase32(secret), digits: DIGITS, period: PERIOD_SECONDS, timestamp: at.getTime(), window: 1 });
  if (delta === null) return null;
  return Math.floor(at.getTime() / 1000 / PERIOD_SECONDS) + delta;
}

/** The code for a moment; tests use it to act as an authenticator app. */
export function totpCode(secret: string, at: Date): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), digits: DIGITS, period: PERIOD_SECONDS, timestamp: at.getTime() });
}
