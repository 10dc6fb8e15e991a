import type { Executor } from '../../db/index.js';
import type { SigningKey } from './keys.table.js';

export async function insertSigningKey(db: Executor, key: SigningKey): Promise<void> {
  await db.insertInto('signing_keys').values(key).execute();
}

export function listSigningKeys(db: Executor, ownerId: string, options: { before?: string; limit: number }): Promise<SigningKey[]> {
  let query = db.selectFrom('signing_keys').selectAll().where('owner_id', '=', ownerId);
  if (options.before) query = query.where('id', '<', options.before);
  return query.orderBy('id', 'desc').limit(options.limit + 1).execute();
}

export function activeSigningKeys(db: Executor, ownerId: string): Promise<SigningKey[]> {
  return db.selectFrom('signing_keys').selectAll().where('owner_id', '=', ownerId).where('revoked_at', 'is', null).execute();
}

/** Who holds a key id, revoked or not: tells someone else's key from a missing one. */
export async function signingKeyOwner(db: Executor, id: string): Promise<string | null> {
  const row = await db.selectFrom('signing_keys').select('owner_id').where('id', '=', id).executeTakeFirst();
  return row?.owner_id ?? null;
}

/**
 * Revokes every active key of the owner (an account changing hands: the previous holder keeps the
 * private halves, and a package they sign must not pass as the new holder's); answers how many.
 */
export async function revokeOwnerSigningKeys(db: Executor, ownerId: string, at: string): Promise<number> {
  const result = await db.updateTable('signing_keys').set({ revoked_at: at }).where('owner_id', '=', ownerId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function revokeSigningKey(db: Executor, ownerId: string, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('signing_keys')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
