import { PostgresAdapter, sql, type Selectable, type Updateable } from 'kysely';
import type { Executor } from '../../db/index.js';
import type { WebhookDeliveriesTable, WebhooksTable } from './notifications.table.js';

export type Webhook = Selectable<WebhooksTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;

/**
 * Holds the app's row until the transaction ends, so two creates cannot both count 19 webhooks
 * and both insert. SQLite has one writer at a time already.
 */
export async function lockApp(db: Executor, appId: string): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`select id from apps where id = ${appId} for update`.execute(db);
}

export async function countWebhooks(db: Executor, appId: string): Promise<number> {
  const row = await db.selectFrom('webhooks').select((eb) => eb.fn.countAll().as('n')).where('app_id', '=', appId).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertWebhook(db: Executor, webhook: Webhook): Promise<void> {
  await db.insertInto('webhooks').values(webhook).execute();
}

export function listWebhooks(db: Executor, appId: string, options: { before?: string; limit: number }): Promise<Webhook[]> {
  let query = db.selectFrom('webhooks').selectAll().where('app_id', '=', appId);
  if (options.before) query = query.where('id', '<', options.before);
  return query.orderBy('id', 'desc').limit(options.limit + 1).execute();
}

export function findWebhook(db: Executor, appId: string, id: string): Promise<Webhook | undefined> {
  return db.selectFrom('webhooks').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
}

export function findWebhookById(db: Executor, id: string): Promise<Webhook | undefined> {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

export function updateWebhook(db: Executor, id: string, change: Updateable<WebhooksTable>): Promise<Webhook | undefined> {
  return db.updateTable('webhooks').set(change).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteWebhook(db: Executor, appId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The app's active webhooks: dispatch picks those subscribed to an event among them. */
export function activeWebhooks(db: Executor, appId: string): Promise<Webhook[]> {
  return db.selectFrom('webhooks').selectAll().where('app_id', '=', appId).where('active', '=', 1).orderBy('id').execute();
}

/** First failure after a success (or none yet): the webhook is failing from now. */
export async function markFailing(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('webhooks').set({ failing_since: at }).where('id', '=', id).where('failing_since', 'is', null).execute();
}

export async function clearFailing(db: Executor, id: string): Promise<void> {
  await db.updateTable('webhooks').set({ failing_since: null }).where('id', '=', id).where('failing_since', 'is not', null).execute();
}

/** Turns an active webhook off; false when it was off already (another delivery got there first). */
export async function disableWebhook(db: Executor, id: string, reason: string, at: string): Promise<boolean> {
  const result = await db.updateTable('webhooks').set({ active: 0, disabled_reason: reason, updated_at: at }).where('id', '=', id).where('active', '=', 1).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Adds a delivery; false when the webhook has this event already (the unique index on
 * webhook_id + event_id for first deliveries), so a replayed event adds nothing.
 */
export async function insertDelivery(db: Executor, delivery: WebhookDelivery): Promise<boolean> {
  const row = await db
    .insertInto('webhook_deliveries')
    .values(delivery)
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export function findDelivery(db: Executor, webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).where('id', '=', id).executeTakeFirst();
}

export function findDeliveryById(db: Executor, id: string): Promise<WebhookDelivery | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The delivery log, newest first (ids are UUIDv7). */
export function listDeliveries(db: Executor, webhookId: string, options: { before?: string; limit: number }): Promise<WebhookDelivery[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
  if (options.before) query = query.where('id', '<', options.before);
  return query.orderBy('id', 'desc').limit(options.limit + 1).execute();
}

/** Records an attempt on a delivery still pending; false when it is settled already (a stale run). */
export async function recordAttempt(db: Executor, id: string, attempt: Updateable<WebhookDeliveriesTable>): Promise<boolean> {
  const result = await db.updateTable('webhook_deliveries').set(attempt).where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deliveries of a webhook still waiting or retrying: bounded, so one receiver cannot queue without end. */
export async function countPending(db: Executor, webhookId: string): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('webhook_id', '=', webhookId)
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Whether the app's owner may still be served: a suspended developer's webhooks get nothing. */
export async function ownerActive(db: Executor, appId: string): Promise<boolean> {
  const row = await db.selectFrom('apps').innerJoin('users', 'users.id', 'apps.owner_id').select('users.status').where('apps.id', '=', appId).executeTakeFirst();
  return row?.status === 'active';
}
