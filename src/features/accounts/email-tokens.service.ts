import type { Db, Executor } from '../../db/index.js';
import type { JobContext, JobQueue } from '../../jobs/index.js';
import { sha256Hex, type Actor, type Clock, type Ids } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import { revokeOwnerApiKeys } from '../keys/index.js';
import type { Mailer } from '../notifications/index.js';
import { passwordResetMail, verificationMail } from './account-mails.js';
import { takeOverAccount } from './account-takeover.js';
import * as repo from './accounts.repository.js';
import type { UserResponse } from './accounts.schemas.js';
import type { EmailTokenPurpose, User } from './accounts.table.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import type { RequestContext } from './request-context.js';
import { endAllSessions } from './sessions.service.js';
import { signedInUser } from './signed-in-user.js';
import { toUserResponse } from './user-response.js';
import { accountsError } from './accounts.errors.js';

const VERIFY_TOKEN_TTL_MS = 24 * 3600 * 1000;
const RESET_TOKEN_TTL_MS = 3600 * 1000;

/** The job a reset request leaves: the lookup, the token and the mail happen in it. */
export const PASSWORD_RESET_JOB = 'accounts.password_reset';

export interface EmailTokensDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  jobs: JobQueue;
  mailer: Mailer;
  /** Links in emails point at the portal UI under this URL. */
  baseUrl: string;
}

const invalidEmailToken = () => accountsError('invalid_token', 'The link is invalid, expired or already used; ask for a new one.');

/**
 * Tokens sent by email: verifying an address and resetting a password. Tokens are single-use and
 * stored as hashes; only the newest of each kind works. Each mail is a job enqueued in the
 * transaction that stores its token (notifications' Mailer).
 */
export class EmailTokensService {
  constructor(private readonly deps: EmailTokensDeps) {
    deps.jobs.define<{ email: string }>(PASSWORD_RESET_JOB, { maxAttempts: 5, handler: (job) => this.sendResetLink(job) });
  }

  /** Stores a new verification token for the user and queues its mail, both in the caller's transaction. */
  async issueVerification(trx: Executor, user: User, retirePrevious: boolean): Promise<void> {
    const now = this.deps.clock.now();
    if (retirePrevious) await repo.retireEmailTokens(trx, user.id, 'verify_email', now.toISOString());
    const token = await this.storeToken(trx, user, 'verify_email', 'mev_', VERIFY_TOKEN_TTL_MS, now);
    await this.deps.mailer.enqueue(trx, verificationMail(user, token, this.deps.baseUrl));
  }

  async resendVerification(actor: Actor): Promise<void> {
    const user = await signedInUser(this.deps.db, actor);
    if (user.email_verified_at !== null) throw accountsError('email_already_verified', 'This email address is already verified.');
    await this.deps.db.transaction().execute((trx) => this.issueVerification(trx, user, true));
    this.deps.mailer.wake();
  }

  async verifyEmail(token: string, ctx: RequestContext): Promise<UserResponse> {
    const now = this.now();
    const user = await this.deps.db.transaction().execute(async (trx) => {
      const spent = await repo.consumeEmailToken(trx, sha256Hex(token), 'verify_email', now);
      if (!spent) throw invalidEmailToken();
      const updated = await repo.updateUser(trx, spent.user_id, { email_verified_at: now, updated_at: now });
      if (!updated) throw invalidEmailToken();
      await this.deps.audit.record({ action: 'email.verified', actorId: updated.id, targetType: 'user', targetId: updated.id, ip: ctx.ip }, trx);
      return updated;
    });
    return toUserResponse(user);
  }

  /**
   * Sends a reset link if the account exists. The answer never says whether it does: the request
   * only enqueues a job with the address, the same write for any address; the lookup, the token
   * and the mail happen in the job, so the answer waits on nothing that differs.
   */
  async forgotPassword(email: string): Promise<void> {
    await this.deps.jobs.enqueue(this.deps.db, { kind: PASSWORD_RESET_JOB, payload: { email } });
    this.deps.mailer.wake();
  }

  /**
   * The reset job: for an active account, a new token (voiding older links) and its mail, in one
   * transaction that also marks the job done, so a job run twice (a crash, a lost lease) sends
   * one link. An unknown or suspended address does nothing.
   */
  private async sendResetLink(job: JobContext<{ email: string }>): Promise<void> {
    const user = await repo.findUserByEmail(this.deps.db, job.payload.email);
    if (!user || user.status !== 'active') return;
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      // Only the newest link works: an older one lying in a mailbox is void.
      await repo.retireEmailTokens(trx, user.id, 'password_reset', now.toISOString());
      const token = await this.storeToken(trx, user, 'password_reset', 'mpr_', RESET_TOKEN_TTL_MS, now);
      await this.deps.mailer.enqueue(trx, passwordResetMail(user, token, this.deps.baseUrl));
      await job.markDone(trx);
    });
  }

  /** Mints a token for a mail link and stores only its hash; answers the token, for the mail alone. */
  private async storeToken(trx: Executor, user: User, purpose: EmailTokenPurpose, prefix: string, ttlMs: number, now: Date): Promise<string> {
    const token = `${prefix}${this.deps.ids.secret(32)}`;
    await repo.insertEmailToken(trx, {
      id: this.deps.ids.id(),
      user_id: user.id,
      purpose,
      token_hash: sha256Hex(token),
      expires_at: new Date(now.getTime() + ttlMs).toISOString(),
      used_at: null,
      created_at: now.toISOString(),
    });
    return token;
  }

  /** Sets a new password from a reset link; every session of the account ends. */
  async resetPassword(token: string, password: string, ctx: RequestContext): Promise<void> {
    // The policy is checked before the token is spent, so a refused password leaves the link usable.
    checkPasswordPolicy(password);
    const passwordHash = await hashPassword(password);
    const now = this.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const spent = await repo.consumeEmailToken(trx, sha256Hex(token), 'password_reset', now);
      if (!spent) throw invalidEmailToken();
      const user = await repo.findUserById(trx, spent.user_id);
      if (!user) throw invalidEmailToken();
      let apiKeysRevoked: number;
      if (user.email_verified_at === null) {
        // The link reached the mailbox, so the address is this person's; the account was never
        // proven, so whoever registered it may be someone else: they lose every way in (keys, 2FA,
        // provider links too), not only their password and sessions.
        const report = await takeOverAccount(trx, user.id, now, { passwordHash });
        await this.deps.audit.record({ action: 'account.taken_over', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { via: 'password_reset', ...report } }, trx);
        apiKeysRevoked = report.api_keys_revoked;
      } else {
        await repo.updateUser(trx, user.id, { password_hash: passwordHash, updated_at: now });
        await endAllSessions(trx, user.id, now);
        // A reset is how an owner shuts out someone who learnt the old password: the API keys that
        // person may have made must not outlive it (the reset mail says so).
        apiKeysRevoked = await revokeOwnerApiKeys(trx, user.id, now);
      }
      await this.deps.audit.record({ action: 'password.reset', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { api_keys_revoked: apiKeysRevoked } }, trx);
    });
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}
