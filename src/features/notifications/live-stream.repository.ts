import type { Executor } from '../../db/index.js';

/**
 * Who created an app, from its `app.created` event: the owner of an app that is gone (apps cannot
 * change hands, and `app.deleted` outlives the row). Served by the index `events_app (app_id, id)`.
 * Undefined for an app the log has no creation of (made before the log existed).
 */
export async function appCreator(db: Executor, appId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('events')
    .select('actor_id')
    .where('app_id', '=', appId)
    .where('type', '=', 'app.created')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row?.actor_id ?? undefined;
}
