import type { Db, Executor } from '../../db/index.js';
import { type AppError, commonError, sha256Hex, type Actor, type Clock, type Ids } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import { ACCESS_TOKEN_TTL_SECONDS, type AccessTokens } from './access-tokens.js';
import { formatAmr, OAUTH_ONLY, parseAmr, PASSWORD_AND_CODE, PASSWORD_ONLY, type Amr } from './amr.js';
import { accountErrors, accountsError } from './accounts.errors.js';
import * as repo from './accounts.repository.js';
import type { AccountSessionResponse, SessionResponse, UserResponse } from './accounts.schemas.js';
import type { RefreshToken, User } from './accounts.table.js';
import { verifyPassword } from './passwords.js';
import type { RequestContext } from './request-context.js';
import type { TwoFactorService } from './two-factor.service.js';
import { toUserResponse } from './user-response.js';

/** A refresh-token family lives at most this long after the login that started it. */
const REFRESH_FAMILY_TTL_MS = 30 * 24 * 3600 * 1000;
const REFRESH_PREFIX = 'mrt_';
const WEB_SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** The sessions list shows at most this many of each kind (a script that logs in often makes many). */
const SESSION_LIST_MAX = 100;

export interface SessionsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  tokens: AccessTokens;
  audit: AuditLog;
  /** Checks the second factor at sign-in. */
  twoFactor: TwoFactorService;
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

/**
 * Signing in with a password (and the second factor when the account has one) and the sessions
 * that follow: refresh-token families for API clients, cookie sessions for the web UI, rotation
 * with reuse detection, logout.
 */
export class SessionsService {
  constructor(private readonly deps: SessionsDeps) {}

  /** Unknown email and wrong password answer the same, after the same argon2 work. */
  async login(input: PasswordSignIn, ctx: RequestContext): Promise<SessionResponse> {
    const { user, amr } = await this.signIn(input, ctx);
    return this.startSession(user, amr, ctx);
  }

  /** The same checks as login, answered with an httpOnly cookie session for the web UI. */
  async startWebSession(input: PasswordSignIn, ctx: RequestContext): Promise<WebSessionStart> {
    const { user, amr } = await this.signIn(input, ctx);
    return this.webSessionFor(user, amr, ctx);
  }

  /**
   * A web session for a user who proved who they are; without `amr`, some other way than a
   * password (an OAuth provider).
   */
  async webSessionFor(user: User, amr: Amr = OAUTH_ONLY, ctx: RequestContext = { ip: null }): Promise<WebSessionStart> {
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
        ip: ctx.ip,
        user_agent: ctx.userAgent ?? null,
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
      const refreshToken = await this.issueRefreshToken(trx, user.id, stored.family_id, stored.expires_at, signIn, ctx);
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

  /**
   * The account's sessions that still work, for the security settings: web sessions not revoked,
   * expired or idle for longer than `idleMs` (those end on their next request anyway), and API
   * sign-ins whose refresh-token family can still refresh. `current` is the caller's own.
   */
  async list(actor: Actor, current: { familyId?: string; webSessionId?: string }, idleMs: number): Promise<AccountSessionResponse[]> {
    const at = this.deps.clock.now();
    const now = at.toISOString();
    const activeSince = new Date(at.getTime() - idleMs).toISOString();
    const [web, families] = await Promise.all([
      repo.listLiveWebSessions(this.deps.db, actor.userId, now, activeSince, SESSION_LIST_MAX),
      repo.listLiveFamilyHeads(this.deps.db, actor.userId, now, SESSION_LIST_MAX),
    ]);
    const sessions: AccountSessionResponse[] = [
      ...web.map((session) => ({
        id: session.id,
        kind: 'web' as const,
        current: session.id === current.webSessionId,
        signed_in_at: session.authenticated_at ?? session.created_at,
        last_used_at: session.last_seen_at ?? session.created_at,
        expires_at: session.expires_at,
        ip: session.ip,
        user_agent: session.user_agent,
        methods: parseAmr(session.amr),
      })),
      ...families.map((head) => ({
        id: head.family_id,
        kind: 'api' as const,
        current: head.family_id === current.familyId,
        signed_in_at: head.authenticated_at ?? head.created_at,
        // The head token was issued by the family's last refresh (or its login).
        last_used_at: head.created_at,
        expires_at: head.expires_at,
        ip: head.ip,
        user_agent: head.user_agent,
        methods: parseAmr(head.amr),
      })),
    ];
    // The current session first, then the most recently used.
    return sessions.sort((a, b) => Number(b.current) - Number(a.current) || b.last_used_at.localeCompare(a.last_used_at));
  }

  /** Ends one of the account's sessions (a web session or an API sign-in's family), by its id. */
  async revoke(actor: Actor, id: string, ctx: RequestContext): Promise<{ kind: 'web' | 'api' }> {
    const now = this.now();
    const kind = await this.deps.db.transaction().execute(async (trx) => {
      const found = (await repo.revokeUserWebSession(trx, actor.userId, id, now)) ? 'web' : (await repo.revokeUserFamily(trx, actor.userId, id, now)) ? 'api' : null;
      if (found === null) return null;
      await this.deps.audit.record({ action: 'session.revoked', actorId: actor.userId, targetType: 'user', targetId: actor.userId, ip: ctx.ip, details: { session_id: id, kind: found } }, trx);
      return found;
    });
    // Someone else's session, or one already ended: the same answer, so ids of others cannot be probed.
    if (kind === null) throw commonError('not_found', 'You have no live session with this id.');
    return { kind };
  }

  /** Ends every session of the account except the one making the request. */
  async revokeOthers(actor: Actor, current: { familyId?: string; webSessionId?: string }, ctx: RequestContext): Promise<void> {
    const now = this.now();
    await this.deps.db.transaction().execute(async (trx) => {
      // A web session keeps itself and ends every API sign-in, and the other way round.
      await repo.revokeOtherRefreshTokens(trx, actor.userId, current.familyId, now);
      await repo.revokeOtherWebSessions(trx, actor.userId, current.webSessionId, now);
      await this.deps.audit.record({ action: 'session.revoked', actorId: actor.userId, targetType: 'user', targetId: actor.userId, ip: ctx.ip, details: { others: true } }, trx);
    });
  }

  /** A new refresh-token family, recording how its login signed in. */
  private async startSession(user: User, amr: Amr, ctx: RequestContext): Promise<SessionResponse> {
    const expiresAt = new Date(this.deps.clock.now().getTime() + REFRESH_FAMILY_TTL_MS).toISOString();
    const familyId = this.deps.ids.id();
    const refreshToken = await this.deps.db.transaction().execute(async (trx) => {
      await this.holdSignIn(trx, user);
      return this.issueRefreshToken(trx, user.id, familyId, expiresAt, { amr: formatAmr(amr), authenticated_at: this.now() }, ctx);
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
    ctx: RequestContext,
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
      ip: ctx.ip,
      user_agent: ctx.userAgent ?? null,
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

/** Ends every session of an account: its refresh-token families and its web sessions. */
export async function endAllSessions(db: Executor, userId: string, now: string): Promise<void> {
  await repo.revokeUserRefreshTokens(db, userId, now);
  await repo.revokeUserWebSessions(db, userId, now);
}
