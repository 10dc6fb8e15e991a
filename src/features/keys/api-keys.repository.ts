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

export async function revokeApiKey(db: Executor, ownerId: string, id: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function touchApiKey(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}

/** Revokes every active key of the owner (an account changing hands); answers how many. */
export async function revokeOwnerApiKeys(db: Executor, ownerId: string, at: string): Promise<number> {
  const result = await db.updateTable('api_keys').set({ revoked_at: at }).where('owner_id', '=', ownerId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}
