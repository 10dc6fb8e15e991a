import type { Db } from '../../db/index.js';
import { isUniqueViolation } from '../../db/index.js';
import { assertNotAppRestricted, commonError, type AppError, usedSecondFactor, type Actor, type Clock, type Ids, type Role } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Mailer } from '../notifications/index.js';
import { signUpAttemptMail } from './account-mails.js';
import * as repo from './accounts.repository.js';
import type { UserResponse } from './accounts.schemas.js';
import type { User } from './accounts.table.js';
import type { EmailTokensService } from './email-tokens.service.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import type { RequestContext } from './request-context.js';
import { endAllSessions } from './sessions.service.js';
import { signedInUser } from './signed-in-user.js';
import { toUserResponse } from './user-response.js';
import { accountsError } from './accounts.errors.js';

export interface AccountsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  mailer: Mailer;
  /** Issues the verification token and mail of a new account. */
  emailTokens: EmailTokensService;
  /** Links in emails point at the portal UI under this URL. */
  baseUrl: string;
  /** Roles that must enable TOTP, and sign in with it, before their privileged routes open. */
  require2faRoles: readonly Role[];
}

/**
 * The account itself: sign-up, the signed-in user, changing the password, and whether a session
 * may use its role's privileged routes. Sign-in and sessions: sessions.service.ts; email tokens:
 * email-tokens.service.ts; 2FA: two-factor.service.ts; OAuth: oauth.service.ts; admin: admin.service.ts.
 */
export class AccountsService {
  constructor(private readonly deps: AccountsDeps) {}

  /**
   * Creates a developer account and mails a link to verify its address; the caller then signs in
   * with /login. The answer never says whether the address already had an account, in what it
   * says or in how long it takes: both paths run the argon2 hash and one write transaction that
   * enqueues their mail (sent by the job worker). The owner of an existing account is told someone tried.
   */
  async register(input: { email: string; password: string; name: string }, ctx: RequestContext): Promise<void> {
    checkPasswordPolicy(input.password);
    const now = this.now();
    const passwordHash = await hashPassword(input.password);
    const existing = await repo.findUserByEmail(this.deps.db, input.email);
    if (existing) return this.registeredAgain(existing, ctx);
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        const created = await repo.insertUser(trx, {
          id: this.deps.ids.id(),
          email: input.email,
          name: input.name,
          password_hash: passwordHash,
          email_verified_at: null,
          created_at: now,
          updated_at: now,
        });
        await this.deps.audit.record({ action: 'user.registered', actorId: created.id, targetType: 'user', targetId: created.id, ip: ctx.ip }, trx);
        await this.deps.emailTokens.issueVerification(trx, created, false);
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Registered by a concurrent request since the lookup: the same answer as any existing account.
      const raced = await repo.findUserByEmail(this.deps.db, input.email);
      if (!raced) throw err;
      return this.registeredAgain(raced, ctx);
    }
    this.deps.mailer.wake();
  }

  /** Sign-up with an address that has an account: audited, and its owner hears about it. */
  private async registeredAgain(user: User, ctx: RequestContext): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.audit.record({ action: 'register.email_taken', targetType: 'user', targetId: user.id, ip: ctx.ip }, trx);
      await this.deps.mailer.enqueue(trx, signUpAttemptMail(user, this.deps.baseUrl));
    });
    this.deps.mailer.wake();
  }

  async me(actor: Actor): Promise<UserResponse> {
    // A key for some apps is a CI secret, not the account: it does not read the owner's profile.
    assertNotAppRestricted(actor);
    return toUserResponse(await this.user(actor));
  }

  /** Changes the name the account goes by (shown to reviewers and admins, and in mails). */
  async updateProfile(actor: Actor, input: { name: string }, ctx: RequestContext): Promise<UserResponse> {
    const user = await this.user(actor);
    if (input.name === user.name) return toUserResponse(user);
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.updateUser(trx, user.id, { name: input.name, updated_at: this.now() });
      await this.deps.audit.record({ action: 'profile.updated', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { fields: ['name'] } }, trx);
      return row;
    });
    return toUserResponse(updated ?? user);
  }

  /** Changes the password; every session of the account ends, this one included. */
  async changePassword(actor: Actor, input: { current_password: string; new_password: string }, ctx: RequestContext): Promise<void> {
    const user = await this.user(actor);
    if (!(await verifyPassword(user.password_hash, input.current_password))) {
      throw accountsError('invalid_credentials', 'The current password is wrong.');
    }
    checkPasswordPolicy(input.new_password, 'body.new_password');
    const passwordHash = await hashPassword(input.new_password);
    const now = this.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.updateUser(trx, user.id, { password_hash: passwordHash, updated_at: now });
      await endAllSessions(trx, user.id, now);
      await this.deps.audit.record({ action: 'password.changed', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip }, trx);
    });
  }

  /**
   * Why this session may not use the privileged routes of the user's role yet, or null. For the
   * roles in REQUIRE_2FA_ROLES the account must have TOTP on and the session must have signed in
   * with a second factor: a session opened with the password alone (before enrolment, or kept from
   * before the portal recorded it) does not count, whatever the account has since.
   */
  secondFactorRefusal(user: User, actor: Actor): AppError | null {
    if (!this.deps.require2faRoles.includes(user.role)) return null;
    if (user.totp_enabled_at === null) {
      return commonError('two_factor_required', 'Turn on two-factor authentication (/v1/auth/2fa/setup) before using these routes.');
    }
    if (!usedSecondFactor(actor.amr)) {
      return commonError('two_factor_session_required', 'This session signed in without a two-factor code; sign in again with your code to use these routes.');
    }
    return null;
  }

  /** The current row of the signed-in user. */
  user(actor: Actor): Promise<User> {
    return signedInUser(this.deps.db, actor);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}
