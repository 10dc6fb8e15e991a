import type { Executor } from '../../db/index.js';
import type { Selectable } from 'kysely';
import type {
  EmailToken,
  EmailTokenPurpose,
  NewUser,
  OAuthIdentity,
  OAuthState,
  RecoveryCodesTable,
  RefreshToken,
  User,
  WebSession,
} from './accounts.table.js';

type RecoveryCode = Selectable<RecoveryCodesTable>;

export function findUserByEmail(db: Executor, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

export function findUserById(db: Executor, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertUser(db: Executor, user: NewUser): Promise<User> {
  return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

export async function insertRefreshToken(db: Executor, token: Omit<RefreshToken, 'rotated_at' | 'revoked_at'>): Promise<void> {
  await db.insertInto('refresh_tokens').values(token).execute();
}

export function findRefreshToken(db: Executor, tokenHash: string): Promise<RefreshToken | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Marks a token rotated only if nobody else did first; false means it was already used. */
export async function markRotated(db: Executor, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ rotated_at: at })
    .where('id', '=', id)
    .where('rotated_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function revokeFamily(db: Executor, familyId: string, at: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ revoked_at: at }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
}

/**
 * Holds the user's row for the rest of the transaction, if the account is still active with the
 * password and two-factor state a sign-in just checked; false if any changed meanwhile. A session
 * is issued only under it: a password check takes tens of milliseconds, and a reset, password
 * change or takeover that commits during it must not be outlived by the session it ends. The row
 * write is what makes the two wait for each other on PostgreSQL (they change the row first, then
 * end the sessions); on SQLite write transactions run one at a time anyway.
 */
export async function holdSignInCredentials(db: Executor, user: Pick<User, 'id' | 'password_hash' | 'totp_enabled_at'>): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', user.id)
    .where('status', '=', 'active')
    .where('password_hash', user.password_hash === null ? 'is' : '=', user.password_hash)
    .where('totp_enabled_at', user.totp_enabled_at === null ? 'is' : '=', user.totp_enabled_at)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Holds an active user's row for the rest of the transaction (false: gone or not active). A refresh
 * takes it before rotating: whatever ends the user's sessions changes that row first, so on
 * PostgreSQL the two run one after the other and the token a refresh issues is never one the
 * revocation's statement could not see.
 */
export async function holdActiveUser(db: Executor, id: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function updateUser(db: Executor, id: string, changes: UserChanges): Promise<User | undefined> {
  return db.updateTable('users').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}

export type UserChanges = Partial<
  Pick<User, 'name' | 'password_hash' | 'role' | 'status' | 'email_verified_at' | 'totp_secret' | 'totp_pending_secret' | 'totp_enabled_at' | 'totp_last_step' | 'updated_at'>
>;

/**
 * Records a TOTP step as used only if it is newer than the last one: two requests racing with the
 * same code cannot both win.
 */
export async function claimTotpStep(db: Executor, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_last_step: step })
    .where('id', '=', userId)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface UserFilter {
  role?: User['role'];
  status?: User['status'];
  email?: string;
  before?: string;
  limit: number;
}

export function listUsers(db: Executor, filter: UserFilter): Promise<User[]> {
  let query = db.selectFrom('users').selectAll();
  if (filter.role !== undefined) query = query.where('role', '=', filter.role);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  // Emails are stored lowercased, so a lowercased pattern matches the same on both dialects.
  if (filter.email !== undefined) query = query.where('email', 'like', `%${filter.email.toLowerCase()}%`);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  return query.orderBy('id', 'desc').limit(filter.limit + 1).execute();
}

export async function revokeUserRefreshTokens(db: Executor, userId: string, at: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

/**
 * How a live family signed in, or undefined once it is revoked or ended: an access token of the
 * family is good only while this answers.
 */
export async function findLiveFamily(db: Executor, familyId: string, now: string): Promise<Pick<RefreshToken, 'amr' | 'authenticated_at'> | undefined> {
  return db
    .selectFrom('refresh_tokens')
    .select(['amr', 'authenticated_at'])
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .limit(1)
    .executeTakeFirst();
}

/** Revokes every refresh-token family of the user except `keepFamilyId` (the caller's own). */
export async function revokeOtherRefreshTokens(db: Executor, userId: string, keepFamilyId: string | undefined, at: string): Promise<void> {
  let query = db.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null);
  if (keepFamilyId !== undefined) query = query.where('family_id', '!=', keepFamilyId);
  await query.execute();
}

/** Revokes every web session of the user except `keepId` (the caller's own). */
export async function revokeOtherWebSessions(db: Executor, userId: string, keepId: string | undefined, at: string): Promise<void> {
  let query = db.updateTable('web_sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null);
  if (keepId !== undefined) query = query.where('id', '!=', keepId);
  await query.execute();
}

/** Records new sign-in methods on every token of a family (a session that just proved a second factor). */
export async function setFamilyAmr(db: Executor, familyId: string, amr: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ amr }).where('family_id', '=', familyId).execute();
}

export async function setWebSessionAmr(db: Executor, id: string, amr: string): Promise<void> {
  await db.updateTable('web_sessions').set({ amr }).where('id', '=', id).execute();
}

export async function insertEmailToken(db: Executor, token: EmailToken): Promise<void> {
  await db.insertInto('email_tokens').values(token).execute();
}

/** Spends a token: only one caller ever gets it back, and only while it is unused and unexpired. */
export async function consumeEmailToken(db: Executor, tokenHash: string, purpose: EmailTokenPurpose, now: string): Promise<EmailToken | undefined> {
  const token = await db
    .selectFrom('email_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .executeTakeFirst();
  if (!token || token.used_at !== null || token.expires_at <= now) return undefined;
  const result = await db.updateTable('email_tokens').set({ used_at: now }).where('id', '=', token.id).where('used_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n ? token : undefined;
}

/** Retires the user's outstanding tokens of one purpose (a new reset link voids the older ones). */
export async function retireEmailTokens(db: Executor, userId: string, purpose: EmailTokenPurpose, now: string): Promise<void> {
  await db.updateTable('email_tokens').set({ used_at: now }).where('user_id', '=', userId).where('purpose', '=', purpose).where('used_at', 'is', null).execute();
}

export async function replaceRecoveryCodes(db: Executor, userId: string, codes: RecoveryCode[]): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  if (codes.length > 0) await db.insertInto('recovery_codes').values(codes).execute();
}

/** Spends the unused code stored under any of `codeHashes` (its keyed hash, or the older plain one). */
export async function consumeRecoveryCode(db: Executor, userId: string, codeHashes: readonly string[], now: string): Promise<boolean> {
  const result = await db
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', 'in', codeHashes)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function countUnusedRecoveryCodes(db: Executor, userId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Recovery-code rows still stored as plain SHA-256 (written before keyed hashing). */
export function findPlainRecoveryCodes(db: Executor, keyedPrefix: string): Promise<Array<{ id: string; code_hash: string }>> {
  return db.selectFrom('recovery_codes').select(['id', 'code_hash']).where('code_hash', 'not like', `${keyedPrefix}%`).execute();
}

/** Replaces a code's hash, only if nobody changed it meanwhile. */
export async function rehashRecoveryCode(db: Executor, id: string, from: string, to: string): Promise<boolean> {
  const result = await db.updateTable('recovery_codes').set({ code_hash: to }).where('id', '=', id).where('code_hash', '=', from).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export type TotpSecretColumn = 'totp_secret' | 'totp_pending_secret';

/** Users with a TOTP secret that is not yet sealed (written before sealing). */
export function findUnsealedTotpSecrets(db: Executor, sealedPrefix: string): Promise<Array<Pick<User, 'id' | 'totp_secret' | 'totp_pending_secret'>>> {
  return db
    .selectFrom('users')
    .select(['id', 'totp_secret', 'totp_pending_secret'])
    .where((eb) =>
      eb.or([
        eb.and([eb('totp_secret', 'is not', null), eb('totp_secret', 'not like', `${sealedPrefix}%`)]),
        eb.and([eb('totp_pending_secret', 'is not', null), eb('totp_pending_secret', 'not like', `${sealedPrefix}%`)]),
      ]),
    )
    .execute();
}

/** Replaces a stored TOTP secret with its sealed form, only if it still holds the value read. */
export async function resealTotpSecret(db: Executor, userId: string, column: TotpSecretColumn, from: string, to: string): Promise<boolean> {
  const result = await db.updateTable('users').set({ [column]: to }).where('id', '=', userId).where(column, '=', from).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function insertWebSession(db: Executor, session: WebSession): Promise<void> {
  await db.insertInto('web_sessions').values(session).execute();
}

export function findWebSession(db: Executor, tokenHash: string): Promise<WebSession | undefined> {
  return db.selectFrom('web_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export function findWebSessionById(db: Executor, id: string): Promise<WebSession | undefined> {
  return db.selectFrom('web_sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function revokeWebSession(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('web_sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
}

/** Records that the session was used; the authenticator calls it at most about once a minute. */
export async function touchWebSession(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('web_sessions').set({ last_seen_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
}

export async function revokeUserWebSessions(db: Executor, userId: string, at: string): Promise<void> {
  await db.updateTable('web_sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

export function findOAuthIdentity(db: Executor, provider: string, subject: string): Promise<OAuthIdentity | undefined> {
  return db.selectFrom('oauth_identities').selectAll().where('provider', '=', provider).where('subject', '=', subject).executeTakeFirst();
}

export async function insertOAuthIdentity(db: Executor, identity: OAuthIdentity): Promise<void> {
  await db.insertInto('oauth_identities').values(identity).execute();
}

export async function insertOAuthState(db: Executor, state: OAuthState): Promise<void> {
  await db.insertInto('oauth_states').values(state).execute();
}

/** Takes a state out of the table: a callback can use it once, a replay finds nothing. */
export async function takeOAuthState(db: Executor, stateHash: string): Promise<OAuthState | undefined> {
  const state = await db.selectFrom('oauth_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
  if (!state) return undefined;
  const result = await db.deleteFrom('oauth_states').where('state_hash', '=', stateHash).executeTakeFirst();
  return result.numDeletedRows > 0n ? state : undefined;
}

export async function deleteExpiredOAuthStates(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('oauth_states').where('expires_at', '<=', now).execute();
}

/**
 * Ends every session of the user, refresh-token families and web sessions alike; answers how many
 * were still live, for the operator's report.
 */
export async function endUserSessions(db: Executor, userId: string, at: string): Promise<number> {
  // A live refresh family has exactly one token that is neither rotated nor revoked.
  const families = await db
    .selectFrom('refresh_tokens')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('rotated_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  const webSessions = await db
    .selectFrom('web_sessions')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  await revokeUserRefreshTokens(db, userId, at);
  await revokeUserWebSessions(db, userId, at);
  return Number(families?.n ?? 0) + Number(webSessions?.n ?? 0);
}

/** Unlinks every provider identity of the user; answers how many there were. */
export async function deleteUserOAuthIdentities(db: Executor, userId: string): Promise<number> {
  const result = await db.deleteFrom('oauth_identities').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * The live head of each refresh-token family of the user (the token that is neither rotated nor
 * revoked and has not expired): one row per API sign-in still able to refresh, newest use first.
 */
export function listLiveFamilyHeads(db: Executor, userId: string, now: string, limit: number): Promise<RefreshToken[]> {
  return db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('rotated_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** The user's web sessions that still work: not revoked, not expired, used since `activeSince`. */
export function listLiveWebSessions(db: Executor, userId: string, now: string, activeSince: string, limit: number): Promise<WebSession[]> {
  return db
    .selectFrom('web_sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where((eb) => eb(eb.fn.coalesce('last_seen_at', 'created_at'), '>=', activeSince))
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** Revokes one refresh-token family of this user; false when the user has no live family by that id. */
export async function revokeUserFamily(db: Executor, userId: string, familyId: string, at: string): Promise<boolean> {
  const result = await db.updateTable('refresh_tokens').set({ revoked_at: at }).where('user_id', '=', userId).where('family_id', '=', familyId).where('revoked_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Revokes one web session of this user; false when the user has no live session by that id. */
export async function revokeUserWebSession(db: Executor, userId: string, id: string, at: string): Promise<boolean> {
  const result = await db.updateTable('web_sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
