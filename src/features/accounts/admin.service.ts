import type { Db } from '../../db/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { commonError, type Actor, type Clock, type Ids, type Role } from '../../shared/index.js';
import { AuditLog } from '../audit/index.js';
import type { AccountsService } from './accounts.service.js';
import { toUserResponse } from './user-response.js';
import * as repo from './accounts.repository.js';
import { takeOverAccount, type TakeoverReport } from './account-takeover.js';
import type { AdminUserResponse, ListUsersQuery, UpdateUserInput } from './accounts.schemas.js';
import type { User } from './accounts.table.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { accountsError } from './accounts.errors.js';

export interface AdminDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  accounts: AccountsService;
}

/** User administration: roles and suspension. Every method checks that the caller is an admin. */
export class AdminService {
  constructor(private readonly deps: AdminDeps) {}

  /**
   * The caller is an admin, signed in as themselves (not through an API key: a key is never a
   * second-factor session) and, when the policy asks for it, with TOTP on and used by this session.
   */
  async assertAdmin(actor: Actor): Promise<User> {
    return this.assertRole(actor, ['admin']);
  }

  /** The same rule for any privileged role (the review feature guards with reviewer + admin). */
  async assertRole(actor: Actor, roles: readonly Role[]): Promise<User> {
    if (actor.scopes !== null) throw commonError('api_key_not_allowed', 'API keys cannot be used for this; sign in with your account.');
    const user = await this.deps.accounts.user(actor);
    if (!roles.includes(user.role)) throw commonError('forbidden', `Only ${roles.join(' or ')} accounts may do this.`);
    const refusal = this.deps.accounts.secondFactorRefusal(user, actor);
    if (refusal) throw refusal;
    return user;
  }

  async listUsers(actor: Actor, query: ListUsersQuery): Promise<Page<AdminUserResponse>> {
    await this.assertAdmin(actor);
    const rows = await repo.listUsers(this.deps.db, { role: query.role, status: query.status, email: query.email, before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (u) => u.id, toAdminUser);
  }

  /**
   * Changes a user's role or status. Suspension ends every session at once; the authenticator
   * reads the status on each request, so access tokens, web sessions and API keys all stop.
   */
  async updateUser(actor: Actor, userId: string, input: UpdateUserInput, ip: string | null): Promise<AdminUserResponse> {
    const admin = await this.assertAdmin(actor);
    // An admin cannot demote or suspend themselves: the last admin would lock everyone out.
    if (userId === admin.id) throw accountsError('cannot_change_self', 'Admins cannot change their own role or status; ask another admin.');
    const now = this.deps.clock.now().toISOString();
    return this.deps.db.transaction().execute(async (trx) => {
      const user = await repo.findUserById(trx, userId);
      if (!user) throw accountsError('user_not_found', 'No user has this id.');
      const changes: repo.UserChanges = {};
      if (input.role !== undefined && input.role !== user.role) changes.role = input.role;
      if (input.status !== undefined && input.status !== user.status) changes.status = input.status;
      if (Object.keys(changes).length === 0) return toAdminUser(user);
      const updated = await repo.updateUser(trx, user.id, { ...changes, updated_at: now });
      if (!updated) throw accountsError('user_not_found', 'No user has this id.');
      if (changes.role !== undefined) {
        await this.deps.audit.record({ action: 'role.changed', actorId: admin.id, targetType: 'user', targetId: user.id, ip, details: { from: user.role, to: changes.role } }, trx);
      }
      if (changes.status === 'suspended') {
        await repo.revokeUserRefreshTokens(trx, user.id, now);
        await repo.revokeUserWebSessions(trx, user.id, now);
        await this.deps.audit.record({ action: 'user.suspended', actorId: admin.id, targetType: 'user', targetId: user.id, ip }, trx);
      } else if (changes.status === 'active') {
        await this.deps.audit.record({ action: 'user.reactivated', actorId: admin.id, targetType: 'user', targetId: user.id, ip }, trx);
      }
      return toAdminUser(updated);
    });
  }
}

function toAdminUser(user: User): AdminUserResponse {
  return { ...toUserResponse(user), status: user.status };
}

/** What create-admin did, for the command's output. */
export interface CreateAdminResult {
  created: boolean;
  userId: string;
  /** Set when no --password was given: the operator reads it once, it is never stored in clear. */
  generatedPassword?: string;
  /** Set when an existing account was promoted: what was taken from its previous holder. */
  takeover?: TakeoverReport;
  /** The promoted account is suspended: it cannot sign in until an admin reactivates it. */
  suspended?: boolean;
}

/**
 * `mosis-portal create-admin`: creates an admin account, or promotes an existing one. Without a
 * password a strong one is generated and returned for the operator to read once.
 *
 * Promoting never keeps the account as it stands: anyone could have registered the address before
 * the operator typed it, and would sign in as admin with their own password. So the operator's
 * word stands for the email proof: the account gets the new password, loses every session, refresh
 * token, API key, provider link and TOTP enrolment of whoever held it, and counts as verified.
 */
export async function createAdminAccount(deps: { db: Db; clock: Clock; ids: Ids }, input: { email: string; password?: string }): Promise<CreateAdminResult> {
  const email = input.email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) throw accountsError('invalid_email', `"${input.email}" is not an email address.`);
  const audit = new AuditLog(deps);
  const now = deps.clock.now().toISOString();
  const generatedPassword = input.password === undefined ? deps.ids.secret(24) : undefined;
  const password = input.password ?? generatedPassword ?? '';
  checkPasswordPolicy(password, '--password');
  const passwordHash = await hashPassword(password);
  const generated = generatedPassword ? { generatedPassword } : {};
  const existing = await repo.findUserByEmail(deps.db, email);
  if (existing) {
    const takeover = await deps.db.transaction().execute(async (trx) => {
      const report = await takeOverAccount(trx, existing.id, now, { passwordHash });
      await repo.updateUser(trx, existing.id, { role: 'admin', updated_at: now });
      await audit.record({ action: 'account.taken_over', targetType: 'user', targetId: existing.id, details: { via: 'create-admin', ...report } }, trx);
      if (existing.role !== 'admin') {
        await audit.record({ action: 'role.changed', targetType: 'user', targetId: existing.id, details: { from: existing.role, to: 'admin', via: 'create-admin' } }, trx);
      }
      return report;
    });
    return { created: false, userId: existing.id, ...generated, takeover, suspended: existing.status !== 'active' };
  }
  const id = deps.ids.id();
  await deps.db.transaction().execute(async (trx) => {
    await repo.insertUser(trx, {
      id,
      email,
      name: email.split('@')[0] ?? 'Admin',
      password_hash: passwordHash,
      role: 'admin',
      // The operator typed the address on the server: it needs no verification mail.
      email_verified_at: now,
      created_at: now,
      updated_at: now,
    });
    await audit.record({ action: 'admin.created', targetType: 'user', targetId: id, details: { via: 'create-admin' } }, trx);
  });
  return { created: true, userId: id, ...generated };
}
