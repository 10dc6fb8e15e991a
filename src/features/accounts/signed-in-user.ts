import type { Executor } from '../../db/index.js';
import { commonError, type Actor } from '../../shared/index.js';
import { findUserById } from './accounts.repository.js';
import type { User } from './accounts.table.js';

/** The current row of the signed-in user; a deleted or suspended account is signed out. */
export async function signedInUser(db: Executor, actor: Actor): Promise<User> {
  const user = await findUserById(db, actor.userId);
  if (!user || user.status !== 'active') throw commonError('unauthorized', 'Authentication is required.');
  return user;
}
