import type { Db, Executor } from '../../db/index.js';
import { commonError, sha256Hex, type Actor, type Clock, type Ids } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import { KEYED_PREFIX, SEALED_PREFIX, type AccountSecrets } from './account-secrets.js';
import { formatAmr, parseAmr, withMethod } from './amr.js';
import * as repo from './accounts.repository.js';
import type { TotpSetupResponse, TwoFactorStatusResponse } from './accounts.schemas.js';
import type { User } from './accounts.table.js';
import { verifyPassword } from './passwords.js';
import { matchTotp, newTotpSecret, totpUri } from './totp.js';
import { accountsError } from './accounts.errors.js';

const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
/**
 * An account without a password (OAuth only) proves it is still its owner by a sign-in this
 * recent before it may turn TOTP on: long enough to scan a QR code, short enough that a stolen
 * week-old session cannot.
 */
export const RECENT_SIGN_IN_MS = 10 * 60 * 1000;

export interface TwoFactorDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  secrets: AccountSecrets;
}

/** The session a request came with: 2FA changes keep it and end every other one. */
export interface CurrentSession {
  familyId?: string;
  webSessionId?: string;
  /** When the session signed in; null when not recorded. */
  authenticatedAt: string | null;
}

export interface TwoFactorChange {
  code: string;
  /** The current password: required for accounts that have one. */
  password?: string;
}

/**
 * TOTP two-factor authentication: enrolment, the recovery codes, turning it off, and checking a
 * code at sign-in. Secrets are sealed and recovery codes hashed with the server key
 * (account-secrets.ts); rows written before that are still read, and upgraded.
 */
export class TwoFactorService {
  constructor(private readonly deps: TwoFactorDeps) {}

  /** Starts TOTP enrolment: a new secret, effective only once a code from it is confirmed. */
  async setup(actor: Actor): Promise<TotpSetupResponse> {
    const user = await this.user(actor);
    if (user.totp_enabled_at !== null) throw accountsError('totp_already_enabled', 'Two-factor authentication is already on; disable it first.');
    const secret = newTotpSecret(Buffer.from(this.deps.ids.secret(20), 'base64url'));
    await repo.updateUser(this.deps.db, user.id, { totp_pending_secret: this.seal(user.id, secret), updated_at: this.deps.clock.now().toISOString() });
    return { secret, otpauth_url: totpUri(secret, user.email) };
  }

  /**
   * Confirms enrolment with a code from the new secret and the password (re-authentication: a
   * stolen session alone cannot put the thief's authenticator on the account). Every other
   * session ends; this one now counts as signed in with a second factor. Answers the recovery
   * codes, once.
   */
  async enable(actor: Actor, input: TwoFactorChange, session: CurrentSession, ctx: { ip: string | null }): Promise<{ recovery_codes: string[] }> {
    const user = await this.user(actor);
    if (user.totp_enabled_at !== null) throw accountsError('totp_already_enabled', 'Two-factor authentication is already on.');
    if (user.totp_pending_secret === null) throw accountsError('totp_not_set_up', 'Call /v1/auth/2fa/setup first.');
    if (user.password_hash !== null) await confirmPassword(user, input.password);
    else this.confirmRecentSignIn(session);
    const now = this.deps.clock.now();
    const secret = this.deps.secrets.open(user.totp_pending_secret, secretContext(user.id));
    const step = matchTotp(secret, input.code.trim(), now);
    if (step === null) throw accountsError('invalid_totp_code', 'The code does not match; check the authenticator app and the clock.');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => this.recoveryCode());
    const at = now.toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.updateUser(trx, user.id, { totp_secret: this.seal(user.id, secret), totp_pending_secret: null, totp_enabled_at: at, totp_last_step: step, updated_at: at });
      await repo.replaceRecoveryCodes(
        trx,
        user.id,
        codes.map((c) => ({ id: this.deps.ids.id(), user_id: user.id, code_hash: this.recoveryCodeHash(normalizeRecoveryCode(c)), used_at: null, created_at: at })),
      );
      await this.endOtherSessions(trx, user.id, session, at);
      // This session just proved the new factor (and the password): privileged routes open for it.
      await this.addSecondFactor(trx, session);
      await this.deps.audit.record({ action: 'totp.enabled', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { other_sessions_ended: true } }, trx);
    });
    return { recovery_codes: codes };
  }

  /**
   * Turns TOTP off with a current code (or a recovery code) and, for accounts that have one, the
   * password; an account without a password re-authenticates with the code alone (it cannot sign in
   * with its provider while TOTP is on). Every other session ends.
   */
  async disable(actor: Actor, input: TwoFactorChange, session: CurrentSession, ctx: { ip: string | null }): Promise<void> {
    const user = await this.user(actor);
    if (user.totp_enabled_at === null) throw accountsError('totp_not_enabled', 'Two-factor authentication is not on.');
    if (user.password_hash !== null) await confirmPassword(user, input.password);
    if (!(await this.check(user, input.code, ctx))) {
      throw accountsError('invalid_totp_code', 'The two-factor code is wrong or was already used.');
    }
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.updateUser(trx, user.id, { totp_secret: null, totp_pending_secret: null, totp_enabled_at: null, totp_last_step: null, updated_at: now });
      await repo.replaceRecoveryCodes(trx, user.id, []);
      await this.endOtherSessions(trx, user.id, session, now);
      await this.deps.audit.record({ action: 'totp.disabled', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { other_sessions_ended: true } }, trx);
    });
  }

  /** Whether TOTP is on, and how many recovery codes are left to sign in with. */
  async status(actor: Actor): Promise<TwoFactorStatusResponse> {
    const user = await this.user(actor);
    const remaining = user.totp_enabled_at === null ? 0 : await repo.countUnusedRecoveryCodes(this.deps.db, user.id);
    return { enabled: user.totp_enabled_at !== null, enabled_at: user.totp_enabled_at, recovery_codes_remaining: remaining, password_required: user.password_hash !== null };
  }

  /**
   * Ten new recovery codes in place of the old ones (used up, or seen by someone else), proven
   * like turning TOTP off: a current code (or a recovery code) and, when the account has one, the
   * password. Sessions stay: nothing about how the account signs in changed but the codes.
   */
  async regenerateRecoveryCodes(actor: Actor, input: TwoFactorChange, ctx: { ip: string | null }): Promise<{ recovery_codes: string[] }> {
    const user = await this.user(actor);
    if (user.totp_enabled_at === null) throw accountsError('totp_not_enabled', 'Two-factor authentication is not on.');
    if (user.password_hash !== null) await confirmPassword(user, input.password);
    if (!(await this.check(user, input.code, ctx))) {
      throw accountsError('invalid_totp_code', 'The two-factor code is wrong or was already used.');
    }
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => this.recoveryCode());
    const at = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.replaceRecoveryCodes(
        trx,
        user.id,
        codes.map((c) => ({ id: this.deps.ids.id(), user_id: user.id, code_hash: this.recoveryCodeHash(normalizeRecoveryCode(c)), used_at: null, created_at: at })),
      );
      await this.deps.audit.record({ action: 'recovery_codes.regenerated', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip }, trx);
    });
    return { recovery_codes: codes };
  }

  /** Accepts a TOTP code of a step newer than the last accepted one, or an unused recovery code. */
  async check(user: User, code: string, ctx: { ip: string | null }): Promise<boolean> {
    const trimmed = code.trim();
    if (user.totp_secret === null) return false;
    if (/^\d{6}$/.test(trimmed)) {
      const secret = this.deps.secrets.open(user.totp_secret, secretContext(user.id));
      const step = matchTotp(secret, trimmed, this.deps.clock.now());
      if (step === null || !(await repo.claimTotpStep(this.deps.db, user.id, step))) return false;
      // A secret stored before sealing (written by an older instance) is sealed on its first use.
      if (!this.deps.secrets.isSealed(user.totp_secret)) await repo.resealTotpSecret(this.deps.db, user.id, 'totp_secret', user.totp_secret, this.seal(user.id, secret));
      return true;
    }
    const normalized = normalizeRecoveryCode(trimmed);
    if (normalized.length !== 10) return false;
    // The keyed hash, or the plain SHA-256 of a code stored before keyed hashing and not yet upgraded.
    const plain = sha256Hex(normalized);
    const now = this.deps.clock.now().toISOString();
    const used = await repo.consumeRecoveryCode(this.deps.db, user.id, [this.deps.secrets.keyedHash(plain), plain], now);
    if (used) {
      const remaining = await repo.countUnusedRecoveryCodes(this.deps.db, user.id);
      await this.deps.audit.record({ action: 'recovery_code.used', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { remaining } });
    }
    return used;
  }

  /**
   * Seals TOTP secrets and rehashes recovery codes stored before the server key protected them.
   * Runs at start after the migrations; each row is replaced only if it still holds what was read,
   * so instances starting together do no harm.
   */
  async upgradeStoredSecrets(): Promise<{ totpSecrets: number; recoveryCodes: number }> {
    const { db, secrets } = this.deps;
    let totpSecrets = 0;
    for (const row of await repo.findUnsealedTotpSecrets(db, SEALED_PREFIX)) {
      for (const column of ['totp_secret', 'totp_pending_secret'] as const) {
        const value = row[column];
        if (value === null || secrets.isSealed(value)) continue;
        if (await repo.resealTotpSecret(db, row.id, column, value, this.seal(row.id, value))) totpSecrets += 1;
      }
    }
    let recoveryCodes = 0;
    for (const row of await repo.findPlainRecoveryCodes(db, KEYED_PREFIX)) {
      // The old hash is SHA-256 of the code; the keyed hash is HMAC over that same digest, so a
      // stored code converts without anyone knowing it.
      if (await repo.rehashRecoveryCode(db, row.id, row.code_hash, secrets.keyedHash(row.code_hash))) recoveryCodes += 1;
    }
    return { totpSecrets, recoveryCodes };
  }

  private confirmRecentSignIn(session: CurrentSession): void {
    const signedIn = session.authenticatedAt === null ? Number.NaN : Date.parse(session.authenticatedAt);
    if (!(this.deps.clock.now().getTime() - signedIn <= RECENT_SIGN_IN_MS)) {
      throw accountsError(
        'reauthentication_required',
        `This account has no password: sign in again with your provider, then turn on two-factor authentication within ${RECENT_SIGN_IN_MS / 60_000} minutes.`,
      );
    }
  }

  private async endOtherSessions(trx: Executor, userId: string, session: CurrentSession, at: string): Promise<void> {
    await repo.revokeOtherRefreshTokens(trx, userId, session.familyId, at);
    await repo.revokeOtherWebSessions(trx, userId, session.webSessionId, at);
  }

  private async addSecondFactor(trx: Executor, session: CurrentSession): Promise<void> {
    const now = this.deps.clock.now().toISOString();
    if (session.familyId !== undefined) {
      const family = await repo.findLiveFamily(trx, session.familyId, now);
      if (family) await repo.setFamilyAmr(trx, session.familyId, formatAmr(withMethod(parseAmr(family.amr), 'otp')));
    }
    if (session.webSessionId !== undefined) {
      const web = await repo.findWebSessionById(trx, session.webSessionId);
      if (web) await repo.setWebSessionAmr(trx, web.id, formatAmr(withMethod(parseAmr(web.amr), 'otp')));
    }
  }

  private seal(userId: string, secret: string): string {
    return this.deps.secrets.seal(secret, secretContext(userId));
  }

  private recoveryCodeHash(normalized: string): string {
    return this.deps.secrets.keyedHash(sha256Hex(normalized));
  }

  private recoveryCode(): string {
    const bytes = Buffer.from(this.deps.ids.secret(10), 'base64url');
    const chars = [...bytes.subarray(0, 10)].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length] ?? 'a').join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  }

  private async user(actor: Actor): Promise<User> {
    const user = await repo.findUserById(this.deps.db, actor.userId);
    if (!user || user.status !== 'active') throw commonError('unauthorized', 'Authentication is required.');
    return user;
  }
}

/** Re-authentication before a 2FA change: the account's current password. */
async function confirmPassword(user: User, password: string | undefined): Promise<void> {
  if (password === undefined || password === '') {
    throw accountsError('password_required', 'Send your current password (password) to change two-factor authentication.');
  }
  if (!(await verifyPassword(user.password_hash, password))) throw accountsError('invalid_credentials', 'The password is wrong.');
}

/** Binds a sealed secret to its user: copied onto another row, it does not open. */
function secretContext(userId: string): string {
  return `totp:${userId}`;
}

function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}
