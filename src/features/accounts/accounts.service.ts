import type { Db, Executor } from '../../db/index.js';
import { isUniqueViolation } from '../../db/index.js';
import { commonError, type AppError, sha256Hex, usedSecondFactor, type Actor, type Clock, type Ids, type Role } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import { revokeOwnerApiKeys } from '../keys/index.js';
import { ACCESS_TOKEN_TTL_SECONDS, type AccessTokens } from './access-tokens.js';
import { formatAmr, OAUTH_ONLY, parseAmr, PASSWORD_AND_CODE, PASSWORD_ONLY, type Amr } from './amr.js';
import { accountErrors, accountsError } from './accounts.errors.js';
import * as repo from './accounts.repository.js';
import { takeOverAccount } from './account-takeover.js';
import type { SessionResponse, UserResponse } from './accounts.schemas.js';
import type { RefreshToken, User } from './accounts.table.js';
import type { MailMessage, Mailer } from './mailer.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import type { TwoFactorService } from './two-factor.service.js';

/** A refresh-token family lives at most this long after the login that started it. */
const REFRESH_FAMILY_TTL_MS = 30 * 24 * 3600 * 1000;
const REFRESH_PREFIX = 'mrt_';
const WEB_SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
const VERIFY_TOKEN_TTL_MS = 24 * 3600 * 1000;
const RESET_TOKEN_TTL_MS = 3600 * 1000;

export interface AccountsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  tokens: AccessTokens;
  audit: AuditLog;
  mailer: Mailer;
  /** Links in emails point at the portal UI under this URL. */
  baseUrl: string;
  /** Roles that must enable TOTP, and sign in with it, before their privileged routes open. */
  require2faRoles: readonly Role[];
  /** Checks the second factor at sign-in. */
  twoFactor: TwoFactorService;
}

/** Where a request came from, for the audit log. */
export interface RequestContext {
  ip: string | null;
}

export interface PasswordSignIn {
  email: string;
  password: string;
  totp_code?: string;
}

export interface WebSessionStart {
  user: UserResponse;
  token: string;
  csrfToken: string;
  maxAgeSeconds: number;
}

const invalidCredentials = () => accountsError('invalid_credentials', 'The email or password is wrong.');
const invalidRefresh = () => accountsError('invalid_refresh_token', 'The refresh token is invalid, expired or revoked.');
const suspended = accountErrors.suspended;
const invalidEmailToken = () => accountsError('invalid_token', 'The link is invalid, expired or already used; ask for a new one.');

export class AccountsService {
  constructor(private readonly deps: AccountsDeps) {}

  /**
   * Creates a developer account and mails a link to verify its address; the caller then signs in
   * with /login. The answer never says whether the address already had an account, in what it
   * says or in how long it takes: both paths run the argon2 hash and one write transaction, and
   * queue their mail in the background. The owner of an existing account is told someone tried.
   */
  async register(input: { email: string; password: string; name: string }, ctx: RequestContext): Promise<void> {
    checkPasswordPolicy(input.password);
    const now = this.now();
    const passwordHash = await hashPassword(input.password);
    const existing = await repo.findUserByEmail(this.deps.db, input.email);
    if (existing) return this.registeredAgain(existing, ctx);
    let mail: MailMessage;
    try {
      mail = await this.deps.db.transaction().execute(async (trx) => {
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
        return this.verificationMail(trx, created, false);
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Registered by a concurrent request since the lookup: the same answer as any existing account.
      const raced = await repo.findUserByEmail(this.deps.db, input.email);
      if (!raced) throw err;
      return this.registeredAgain(raced, ctx);
    }
    this.deps.mailer.sendLater(mail);
  }

  /** Sign-up with an address that has an account: audited, and its owner hears about it. */
  private async registeredAgain(user: User, ctx: RequestContext): Promise<void> {
    await this.deps.audit.record({ action: 'register.email_taken', targetType: 'user', targetId: user.id, ip: ctx.ip });
    this.deps.mailer.sendLater({
      to: user.email,
      subject: 'Someone tried to sign up to Mosis Portal with your address',
      text: [
        `Someone (hopefully you) tried to create a Mosis Portal account for ${user.email}, which already has one.`,
        '',
        `If it was you, sign in at ${this.deps.baseUrl}/ instead. If you forgot your password, ask for a reset link`,
        'on the sign-in page (or POST /v1/auth/password/forgot).',
        '',
        'If it was not you, ignore this message: nothing was changed and nobody learned that you have an account.',
      ].join('\n'),
    });
  }

  /** Unknown email and wrong password answer the same, after the same argon2 work. */
  async login(input: PasswordSignIn, ctx: RequestContext): Promise<SessionResponse> {
    const { user, amr } = await this.signIn(input, ctx);
    return this.startSession(user, amr);
  }

  /** The same checks as login, answered with an httpOnly cookie session for the web UI. */
  async startWebSession(input: PasswordSignIn, ctx: RequestContext): Promise<WebSessionStart> {
    const { user, amr } = await this.signIn(input, ctx);
    return this.webSessionFor(user, amr);
  }

  /**
   * A web session for a user who proved who they are; without `amr`, some other way than a
   * password (an OAuth provider).
   */
  async webSessionFor(user: User, amr: Amr = OAUTH_ONLY): Promise<WebSessionStart> {
    const token = `mws_${this.deps.ids.secret(32)}`;
    const csrfToken = this.deps.ids.secret(24);
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await this.holdSignIn(trx, user);
      await repo.insertWebSession(trx, {
        id: this.deps.ids.id(),
        user_id: user.id,
        token_hash: sha256Hex(token),
        csrf_hash: sha256Hex(csrfToken),
        expires_at: new Date(this.deps.clock.now().getTime() + WEB_SESSION_TTL_MS).toISOString(),
        created_at: now,
        revoked_at: null,
        amr: formatAmr(amr),
        authenticated_at: now,
        last_seen_at: now,
      });
    });
    return { user: toUserResponse(user), token, csrfToken, maxAgeSeconds: WEB_SESSION_TTL_MS / 1000 };
  }

  /** Checks the password (and the second factor when the account has one); answers how it signed in. */
  private async signIn(input: PasswordSignIn, ctx: RequestContext): Promise<{ user: User; amr: Amr }> {
    const user = await repo.findUserByEmail(this.deps.db, input.email);
    const ok = await verifyPassword(user?.password_hash ?? null, input.password);
    const fail = async (reason: string, error: AppError): Promise<never> => {
      await this.deps.audit.record({ action: 'login.failed', actorId: user?.id ?? null, targetType: 'user', targetId: user?.id, ip: ctx.ip, details: { email: input.email, reason } });
      throw error;
    };
    if (!user || !ok) return fail(user ? 'wrong_password' : 'unknown_email', invalidCredentials());
    if (user.status !== 'active') return fail('suspended', suspended());
    if (user.totp_enabled_at !== null) {
      if (input.totp_code === undefined || input.totp_code.trim() === '') {
        return fail('totp_missing', accountErrors.totpRequired('send totp_code'));
      }
      const second = await this.deps.twoFactor.check(user, input.totp_code, ctx);
      if (!second) return fail('totp_invalid', accountsError('invalid_totp_code', 'The two-factor code is wrong or was already used.'));
    }
    const amr = user.totp_enabled_at !== null ? PASSWORD_AND_CODE : PASSWORD_ONLY;
    await this.deps.audit.record({ action: 'login.succeeded', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { method: 'password', amr } });
    return { user, amr };
  }

  /** Rotates a refresh token. Presenting an already-rotated token revokes its whole family. */
  async refresh(token: string, ctx: RequestContext): Promise<SessionResponse> {
    const { db } = this.deps;
    const now = this.now();
    const outcome = await db.transaction().execute(async (trx) => {
      const found = await repo.findRefreshToken(trx, sha256Hex(token));
      if (!found || !(await repo.holdActiveUser(trx, found.user_id))) return 'invalid' as const;
      // Read again under the user's row: a reset or takeover that held it first has revoked it.
      const stored = await repo.findRefreshToken(trx, sha256Hex(token));
      if (!stored || stored.revoked_at !== null || stored.expires_at <= now) return 'invalid' as const;
      if (stored.rotated_at !== null || !(await repo.markRotated(trx, stored.id, now))) {
        await repo.revokeFamily(trx, stored.family_id, now);
        await this.deps.audit.record({ action: 'refresh_token.reused', actorId: stored.user_id, targetType: 'user', targetId: stored.user_id, ip: ctx.ip }, trx);
        return 'reused' as const;
      }
      const user = await repo.findUserById(trx, stored.user_id);
      if (!user || user.status !== 'active') return 'invalid' as const;
      // The family keeps how its login signed in: refreshing never adds or drops a factor.
      const signIn = { amr: stored.amr, authenticated_at: stored.authenticated_at };
      const refreshToken = await this.issueRefreshToken(trx, user.id, stored.family_id, stored.expires_at, signIn);
      return { user, refreshToken, familyId: stored.family_id, amr: parseAmr(stored.amr) };
    });
    if (typeof outcome === 'string') throw invalidRefresh();
    return this.session(outcome.user, outcome.refreshToken, outcome.familyId, outcome.amr);
  }

  /** Ends the session the request came with: its refresh-token family or its web session. */
  async logout(actor: Actor, session: { familyId?: string; webSessionId?: string }, ctx: RequestContext): Promise<void> {
    const now = this.now();
    await this.deps.db.transaction().execute(async (trx) => {
      if (session.familyId !== undefined) await repo.revokeFamily(trx, session.familyId, now);
      if (session.webSessionId !== undefined) await repo.revokeWebSession(trx, session.webSessionId, now);
      await this.deps.audit.record({ action: 'logout', actorId: actor.userId, targetType: 'user', targetId: actor.userId, ip: ctx.ip }, trx);
    });
  }

  async me(actor: Actor): Promise<UserResponse> {
    return toUserResponse(await this.user(actor));
  }

  async resendVerification(actor: Actor): Promise<void> {
    const user = await this.user(actor);
    if (user.email_verified_at !== null) throw accountsError('email_already_verified', 'This email address is already verified.');
    const mail = await this.deps.db.transaction().execute((trx) => this.verificationMail(trx, user, true));
    await this.deps.mailer.send(mail);
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
   * Sends a reset link if the account exists. The answer never says whether it does: the lookup,
   * the token and the mail all happen in the background, so the answer waits on nothing that
   * differs between a known and an unknown address.
   */
  forgotPassword(email: string): void {
    this.deps.mailer.sendLater(() => this.resetMail(email));
  }

  private async resetMail(email: string): Promise<MailMessage | null> {
    const user = await repo.findUserByEmail(this.deps.db, email);
    if (!user || user.status !== 'active') return null;
    const now = this.deps.clock.now();
    const token = `mpr_${this.deps.ids.secret(32)}`;
    await this.deps.db.transaction().execute(async (trx) => {
      // Only the newest link works: an older one lying in a mailbox is void.
      await repo.retireEmailTokens(trx, user.id, 'password_reset', now.toISOString());
      await repo.insertEmailToken(trx, {
        id: this.deps.ids.id(),
        user_id: user.id,
        purpose: 'password_reset',
        token_hash: sha256Hex(token),
        expires_at: new Date(now.getTime() + RESET_TOKEN_TTL_MS).toISOString(),
        used_at: null,
        created_at: now.toISOString(),
      });
    });
    return {
      to: user.email,
      subject: 'Reset your Mosis Portal password',
      text: [
        `Someone (hopefully you) asked to reset the password of ${user.email}.`,
        '',
        `Open this link within an hour to choose a new one: ${this.deps.baseUrl}/reset-password?token=${token}`,
        '',
        `Or send the token to POST /v1/auth/password/reset: ${token}`,
        '',
        'Choosing a new password signs you out everywhere and revokes all your API keys; create new keys afterwards.',
        '',
        'If you did not ask, ignore this message; your password stays as it is.',
      ].join('\n'),
    };
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
        await this.endAllSessions(trx, user.id, now);
        // A reset is how an owner shuts out someone who learnt the old password: the API keys that
        // person may have made must not outlive it (the reset mail says so).
        apiKeysRevoked = await revokeOwnerApiKeys(trx, user.id, now);
      }
      await this.deps.audit.record({ action: 'password.reset', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { api_keys_revoked: apiKeysRevoked } }, trx);
    });
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
      await this.endAllSessions(trx, user.id, now);
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
      return accountsError('two_factor_required', 'Turn on two-factor authentication (/v1/auth/2fa/setup) before using these routes.');
    }
    if (!usedSecondFactor(actor.amr)) {
      return accountsError('two_factor_session_required', 'This session signed in without a two-factor code; sign in again with your code to use these routes.');
    }
    return null;
  }

  /** The current row of the signed-in user. */
  async user(actor: Actor): Promise<User> {
    const user = await repo.findUserById(this.deps.db, actor.userId);
    if (!user || user.status !== 'active') throw commonError('unauthorized', 'Authentication is required.');
    return user;
  }

  /** Stores a new verification token for the user (in the caller's transaction) and words its mail. */
  private async verificationMail(trx: Executor, user: User, retirePrevious: boolean): Promise<MailMessage> {
    const now = this.deps.clock.now();
    const token = `mev_${this.deps.ids.secret(32)}`;
    if (retirePrevious) await repo.retireEmailTokens(trx, user.id, 'verify_email', now.toISOString());
    await repo.insertEmailToken(trx, {
      id: this.deps.ids.id(),
      user_id: user.id,
      purpose: 'verify_email',
      token_hash: sha256Hex(token),
      expires_at: new Date(now.getTime() + VERIFY_TOKEN_TTL_MS).toISOString(),
      used_at: null,
      created_at: now.toISOString(),
    });
    return {
      to: user.email,
      subject: 'Confirm your email for Mosis Portal',
      text: [
        `Welcome to Mosis Portal, ${user.name}.`,
        '',
        `Confirm ${user.email} within 24 hours: ${this.deps.baseUrl}/verify-email?token=${token}`,
        '',
        `Or send the token to POST /v1/auth/verify-email: ${token}`,
        '',
        // Confirming would vouch for an account someone else holds the password of.
        'If you did not sign up, do not confirm: someone else typed your address. Ignore this message.',
      ].join('\n'),
    };
  }

  private async endAllSessions(db: Executor, userId: string, now: string): Promise<void> {
    await repo.revokeUserRefreshTokens(db, userId, now);
    await repo.revokeUserWebSessions(db, userId, now);
  }

  /** A new refresh-token family, recording how its login signed in. */
  private async startSession(user: User, amr: Amr): Promise<SessionResponse> {
    const expiresAt = new Date(this.deps.clock.now().getTime() + REFRESH_FAMILY_TTL_MS).toISOString();
    const familyId = this.deps.ids.id();
    const refreshToken = await this.deps.db.transaction().execute(async (trx) => {
      await this.holdSignIn(trx, user);
      return this.issueRefreshToken(trx, user.id, familyId, expiresAt, { amr: formatAmr(amr), authenticated_at: this.now() });
    });
    return this.session(user, refreshToken, familyId, amr);
  }

  /**
   * A session is issued only while the account still has the password and 2FA state its sign-in
   * checked: a reset, password change or takeover committed during the (slow) password check ends
   * every session, and must not miss this one.
   */
  private async holdSignIn(trx: Executor, user: User): Promise<void> {
    if (!(await repo.holdSignInCredentials(trx, user))) throw invalidCredentials();
  }

  private async issueRefreshToken(
    db: Executor,
    userId: string,
    familyId: string,
    expiresAt: string,
    signIn: Pick<RefreshToken, 'amr' | 'authenticated_at'>,
  ): Promise<string> {
    const token = REFRESH_PREFIX + this.deps.ids.secret(32);
    await repo.insertRefreshToken(db, {
      id: this.deps.ids.id(),
      user_id: userId,
      family_id: familyId,
      token_hash: sha256Hex(token),
      expires_at: expiresAt,
      created_at: this.now(),
      amr: signIn.amr,
      authenticated_at: signIn.authenticated_at,
    });
    return token;
  }

  private async session(user: User, refreshToken: string, familyId: string, amr: Amr): Promise<SessionResponse> {
    return {
      user: toUserResponse(user),
      access_token: await this.deps.tokens.sign({ userId: user.id, role: user.role, sessionId: familyId, amr }),
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
    };
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

export function toUserResponse(user: User): UserResponse {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    email_verified: user.email_verified_at !== null,
    totp_enabled: user.totp_enabled_at !== null,
    created_at: user.created_at,
  };
}
