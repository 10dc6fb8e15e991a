import type { Executor } from '../../db/index.js';
import type { ApiKey } from './api-keys.table.js';

export async function insertApiKey(db: Executor, key: ApiKey): Promise<void> {
  await db.insertInto('api_keys').values(key).execute();
}

export function findApiKeyByHash(db: Executor, keyHash: string): Promise<ApiKey | undefined> {
  return db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

export function listApiKeys(db: Executor, ownerId: string, options: { before?: string; limit: number }): Promise<ApiKey[]> {
  let query = db.selectFrom('api_keys').selectAll().where('owner_id', '=', ownerId);
  if (options.before) query = query.where('id', '<', options.before);
  return query.orderBy('id', 'desc').limit(options.limit + 1).execute();
}

/** Revokes the key and every live key made with it, or with those (a key's children die with it); false when the key was not live. */
export async function revokeApiKey(db: Executor, ownerId: string, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return false;
  for (let parents = [id]; parents.length > 0; ) {
    const children = await db.updateTable('api_keys').set({ revoked_at: at }).where('parent_key_id', 'in', parents).where('revoked_at', 'is', null).returning('id').execute();
    parents = children.map((child) => child.id);
  }
  return true;
}

export async function touchApiKey(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}

/** Revokes every active key of the owner (an account changing hands); answers how many. */
export async function revokeOwnerApiKeys(db: Executor, ownerId: string, at: string): Promise<number> {
  const result = await db.updateTable('api_keys').set({ revoked_at: at }).where('owner_id', '=', ownerId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}
