import type { Executor } from '../../db/index.js';
import { revokeOwnerApiKeys, revokeOwnerSigningKeys } from '../keys/index.js';
import * as repo from './accounts.repository.js';

/** What a takeover ended, for the audit log and the operator's report. */
export interface TakeoverReport {
  /** Live refresh-token families and web sessions that were ended. */
  sessions_ended: number;
  api_keys_revoked: number;
  /**
   * Package signing keys the previous holder registered: they keep the private halves, so a key
   * left active would let them sign packages that pass as the new holder's.
   */
  signing_keys_revoked: number;
  /** TOTP (and its recovery codes) was on, or an enrolment was pending, and is now gone. */
  totp_removed: boolean;
  oauth_identities_unlinked: number;
  /** The account had a password, which no longer works. */
  password_replaced: boolean;
}

/**
 * Hands an account to whoever has just proved they own its email address (the operator running
 * create-admin, an OAuth provider that verified it, a reset link that reached the mailbox), and
 * shuts out whoever held it before: anyone can register an address they do not own and wait.
 * Ends every session, refresh token and API key, revokes every package signing key, removes TOTP and recovery codes the previous
 * holder may have enrolled, unlinks their provider identities, voids links mailed earlier, sets
 * the new password (or none) and marks the address verified. Run it in the transaction of the
 * change it serves, so the account is never half handed over.
 */
export async function takeOverAccount(trx: Executor, userId: string, at: string, next: { passwordHash: string | null }): Promise<TakeoverReport> {
  const user = await repo.findUserById(trx, userId);
  if (!user) throw new Error(`user ${userId} vanished during a takeover`);
  // The row changes first: a sign-in that checked the old password waits on it, then finds the
  // password changed (holdSignInCredentials), or finished first and its session is ended below.
  await repo.updateUser(trx, userId, {
    password_hash: next.passwordHash,
    totp_secret: null,
    totp_pending_secret: null,
    totp_enabled_at: null,
    totp_last_step: null,
    email_verified_at: at,
    updated_at: at,
  });
  const sessionsEnded = await repo.endUserSessions(trx, userId, at);
  const apiKeysRevoked = await revokeOwnerApiKeys(trx, userId, at);
  const signingKeysRevoked = await revokeOwnerSigningKeys(trx, userId, at);
  const oauthUnlinked = await repo.deleteUserOAuthIdentities(trx, userId);
  await repo.replaceRecoveryCodes(trx, userId, []);
  await repo.retireEmailTokens(trx, userId, 'verify_email', at);
  await repo.retireEmailTokens(trx, userId, 'password_reset', at);
  return {
    sessions_ended: sessionsEnded,
    api_keys_revoked: apiKeysRevoked,
    signing_keys_revoked: signingKeysRevoked,
    totp_removed: user.totp_enabled_at !== null || user.totp_pending_secret !== null,
    oauth_identities_unlinked: oauthUnlinked,
    password_replaced: user.password_hash !== null,
  };
}
