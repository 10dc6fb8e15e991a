import type { Db, Executor } from '../../db/index.js';
import { isUniqueViolation } from '../../db/index.js';
import { AppError, errors, sha256Hex, type Actor, type Clock, type Ids } from '../../shared/index.js';
import { ACCESS_TOKEN_TTL_SECONDS, type AccessTokens } from './access-tokens.js';
import * as repo from './accounts.repository.js';
import type { SessionResponse, UserResponse } from './accounts.schemas.js';
import type { User } from './accounts.table.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';

/** A refresh-token family lives at most this long after the login that started it. */
const REFRESH_FAMILY_TTL_MS = 30 * 24 * 3600 * 1000;
const REFRESH_PREFIX = 'mrt_';

export interface AccountsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  tokens: AccessTokens;
}

const invalidCredentials = () => new AppError('invalid_credentials', 401, 'The email or password is wrong.');
const invalidRefresh = () => new AppError('invalid_refresh_token', 401, 'The refresh token is invalid, expired or revoked.');

export class AccountsService {
  constructor(private readonly deps: AccountsDeps) {}

  async register(input: { email: string; password: string; name: string }): Promise<SessionResponse> {
    checkPasswordPolicy(input.password);
    const now = this.deps.clock.now().toISOString();
    const passwordHash = await hashPassword(input.password);
    let user: User;
    try {
      user = await repo.insertUser(this.deps.db, {
        id: this.deps.ids.id(),
        email: input.email,
        name: input.name,
        password_hash: passwordHash,
        email_verified_at: null,
        created_at: now,
        updated_at: now,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw errors.conflict('email_taken', 'An account with this email already exists.');
      throw err;
    }
    return this.startSession(user);
  }

  /** Unknown email and wrong password answer the same, after the same argon2 work. */
  async login(input: { email: string; password: string }): Promise<SessionResponse> {
    const user = await repo.findUserByEmail(this.deps.db, input.email);
    const ok = await verifyPassword(user?.password_hash ?? null, input.password);
    if (!user || !ok) throw invalidCredentials();
    if (user.status !== 'active') throw new AppError('account_suspended', 403, 'This account is suspended.');
    return this.startSession(user);
  }

  /** Rotates a refresh token. Presenting an already-rotated token revokes its whole family. */
  async refresh(token: string): Promise<SessionResponse> {
    const { db, clock } = this.deps;
    const now = clock.now().toISOString();
    const outcome = await db.transaction().execute(async (trx) => {
      const stored = await repo.findRefreshToken(trx, sha256Hex(token));
      if (!stored || stored.revoked_at !== null || stored.expires_at <= now) return 'invalid' as const;
      if (stored.rotated_at !== null || !(await repo.markRotated(trx, stored.id, now))) {
        await repo.revokeFamily(trx, stored.family_id, now);
        return 'reused' as const;
      }
      const user = await repo.findUserById(trx, stored.user_id);
      if (!user || user.status !== 'active') return 'invalid' as const;
      const refreshToken = await this.issueRefreshToken(trx, user.id, stored.family_id, stored.expires_at);
      return { user, refreshToken };
    });
    if (typeof outcome === 'string') throw invalidRefresh();
    return this.session(outcome.user, outcome.refreshToken);
  }

  async me(actor: Actor): Promise<UserResponse> {
    const user = await repo.findUserById(this.deps.db, actor.userId);
    if (!user) throw errors.unauthorized();
    return toUserResponse(user);
  }

  private async startSession(user: User): Promise<SessionResponse> {
    const expiresAt = new Date(this.deps.clock.now().getTime() + REFRESH_FAMILY_TTL_MS).toISOString();
    const refreshToken = await this.issueRefreshToken(this.deps.db, user.id, this.deps.ids.id(), expiresAt);
    return this.session(user, refreshToken);
  }

  private async issueRefreshToken(db: Executor, userId: string, familyId: string, expiresAt: string): Promise<string> {
    const token = REFRESH_PREFIX + this.deps.ids.secret(32);
    await repo.insertRefreshToken(db, {
      id: this.deps.ids.id(),
      user_id: userId,
      family_id: familyId,
      token_hash: sha256Hex(token),
      expires_at: expiresAt,
      created_at: this.deps.clock.now().toISOString(),
    });
    return token;
  }

  private async session(user: User, refreshToken: string): Promise<SessionResponse> {
    return {
      user: toUserResponse(user),
      access_token: await this.deps.tokens.sign({ userId: user.id, role: user.role }),
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
    };
  }
}

export function toUserResponse(user: User): UserResponse {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    email_verified: user.email_verified_at !== null,
    totp_enabled: false,
    created_at: user.created_at,
  };
}
