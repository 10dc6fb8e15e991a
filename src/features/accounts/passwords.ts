import { readFileSync } from 'node:fs';
import { packageFile } from '../../shared/index.js';
import { accountsError } from './accounts.errors.js';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

// OWASP's argon2id baseline (19 MiB, 2 passes); the library's default algorithm is argon2id.
export const DEFAULT_PASSWORD_HASH_COST = { memoryCost: 19_456, timeCost: 2 };

/** argon2id's memory (KiB) and passes for new hashes; a stored hash carries its own for verifying. */
export interface PasswordHashCost {
  memoryCost: number;
  timeCost: number;
}

let cost = { ...DEFAULT_PASSWORD_HASH_COST, parallelism: 1 };
// A real hash of a random string, made at the cost in effect: verifying against it costs what a
// real check costs, so an unknown email answers as slowly as a wrong password.
let decoy: Promise<string> | undefined;

/**
 * Lowers the cost of hashes made from now on in this process. Only the test suite does (through
 * CoreDeps): it signs in hundreds of accounts, and what it tests is the accounts, not argon2's
 * price; the portal itself never calls this and always hashes at OWASP's baseline.
 */
export function setPasswordHashCost(next: PasswordHashCost): void {
  cost = { ...next, parallelism: 1 };
  decoy = undefined;
}

const LIST_FILE = 'common-passwords.txt';

/**
 * The shipped list of common passwords (lowercased): the build copies it into dist/ at the place
 * its source has; a build that forgot to falls back to the source tree, and a missing list stops
 * the start rather than silently accepting "password1234".
 */
function loadCommonPasswords(): ReadonlySet<string> {
  const candidates = [packageFile('dist/features/accounts', LIST_FILE), packageFile('src/features/accounts', LIST_FILE)];
  for (const candidate of candidates) {
    try {
      const text = readFileSync(candidate, 'utf8');
      return new Set(text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`the common-password list is missing: none of ${candidates.join(', ')}`);
}

let common: ReadonlySet<string> | undefined;

/** Checked before hashing so a megabyte "password" never reaches argon2. */
export function checkPasswordPolicy(password: string, field = 'body.password'): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw accountsError('password_policy', `Passwords must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long.`, [
      { path: field, message: `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` },
    ]);
  }
  common ??= loadCommonPasswords();
  if (common.has(password.toLowerCase())) {
    throw accountsError('password_too_common', 'This password is on a list of commonly used passwords; choose another.', [
      { path: field, message: 'is a commonly used password' },
    ]);
  }
}

/** Loads the list at start, so a broken installation fails before serving instead of at the first sign-up. */
export function preloadPasswordPolicy(): void {
  common ??= loadCommonPasswords();
}

// The native module (and its half a megabyte of code) loads with the first password checked, not at every start.
const argon2 = () => import('@node-rs/argon2');

export async function hashPassword(password: string): Promise<string> {
  return (await argon2()).hash(password, cost);
}


/** Verifies a password; with no stored hash it still spends the same time and returns false. */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX) return false;
  if (stored === null) {
    decoy ??= hashPassword(`decoy-${Math.random()}`);
    const { verify } = await argon2();
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  const { verify } = await argon2();
  return verify(stored, password).catch(() => false);
}
