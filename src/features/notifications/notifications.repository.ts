import type { Selectable } from 'kysely';
import type { Executor } from '../../db/index.js';
import type { NotificationKind } from './notification-kinds.js';
import type { NotificationsTable } from './notifications.table.js';

export type Notification = Selectable<NotificationsTable>;

/** Who a notification about an app goes to: its owner, as the mail needs them. */
export interface Recipient {
  id: string;
  email: string;
  name: string;
  /** Mail goes only to verified addresses: an unverified one may be someone else's. */
  verified: boolean;
}

export interface AppSummary {
  id: string;
  name: string;
  package_id: string;
  owner: Recipient;
}

export async function appWithOwner(db: Executor, appId: string): Promise<AppSummary | undefined> {
  const row = await db
    .selectFrom('apps')
    .innerJoin('users', 'users.id', 'apps.owner_id')
    .select(['apps.id', 'apps.name', 'apps.package_id', 'users.id as user_id', 'users.email', 'users.name as user_name', 'users.email_verified_at', 'users.status'])
    .where('apps.id', '=', appId)
    .executeTakeFirst();
  if (!row || row.status !== 'active') return undefined;
  return { id: row.id, name: row.name, package_id: row.package_id, owner: { id: row.user_id, email: row.email, name: row.user_name, verified: row.email_verified_at !== null } };
}

/** Reviewers and admins who may work the queue (suspended ones are not told). */
export async function reviewers(db: Executor): Promise<Recipient[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'email_verified_at'])
    .where('role', 'in', ['reviewer', 'admin'])
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => ({ id: r.id, email: r.email, name: r.name, verified: r.email_verified_at !== null }));
}

export async function recipient(db: Executor, userId: string): Promise<(Recipient & { role: string }) | undefined> {
  const row = await db.selectFrom('users').select(['id', 'email', 'name', 'email_verified_at', 'role', 'status']).where('id', '=', userId).executeTakeFirst();
  if (!row || row.status !== 'active') return undefined;
  return { id: row.id, email: row.email, name: row.name, verified: row.email_verified_at !== null, role: row.role };
}

/** The blocking findings of a version's checks, for the mail that says it failed. */
export async function blockingFindings(db: Executor, versionId: string): Promise<{ code: string; message: string; file?: string }[]> {
  const row = await db.selectFrom('versions').select('checks').where('id', '=', versionId).executeTakeFirst();
  if (!row) return [];
  const findings = JSON.parse(row.checks || '[]') as { severity: string; code: string; message: string; file?: string }[];
  return findings.filter((f) => f.severity === 'error');
}

/** Versions waiting for a reviewer, oldest first (what a digest lists). */
export async function waitingForReview(db: Executor, limit: number): Promise<{ total: number; versions: { id: string; version: string; app_name: string; package_id: string }[] }> {
  const [count, versions] = await Promise.all([
    db.selectFrom('versions').select((eb) => eb.fn.countAll<number | string>().as('n')).where('status', '=', 'pending_review').executeTakeFirstOrThrow(),
    db
      .selectFrom('versions')
      .innerJoin('apps', 'apps.id', 'versions.app_id')
      .select(['versions.id', 'versions.version', 'apps.name as app_name', 'apps.package_id'])
      .where('versions.status', '=', 'pending_review')
      .orderBy('versions.checked_at')
      .orderBy('versions.id')
      .limit(limit)
      .execute(),
  ]);
  return { total: Number(count.n), versions };
}

/** Adds a notification; false when this person was already told of this event (a replay). */
export async function insertNotification(db: Executor, row: NotificationsTable): Promise<boolean> {
  const inserted = await db.insertInto('notifications').values(row).onConflict((oc) => oc.doNothing()).returning('id').executeTakeFirst();
  return inserted !== undefined;
}

/** Newest first: by the event each tells of (UUIDv7 ids made within one millisecond are not in order). */
export function listNotifications(db: Executor, userId: string, options: { unread: boolean; beforeEvent: number | null; limit: number }): Promise<Notification[]> {
  let query = db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
  if (options.unread) query = query.where('read_at', 'is', null);
  if (options.beforeEvent !== null) query = query.where('event_id', '<', options.beforeEvent);
  return query.orderBy('event_id', 'desc').limit(options.limit).execute();
}

export async function unreadCount(db: Executor, userId: string): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Marks the caller's own notifications read (ids of others match nothing); null ids: all of them. */
export async function markRead(db: Executor, userId: string, ids: readonly string[] | null, at: string): Promise<number> {
  let query = db.updateTable('notifications').set({ read_at: at }).where('user_id', '=', userId).where('read_at', 'is', null);
  if (ids !== null) query = query.where('id', 'in', ids);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The kinds whose email this person turned off. */
export async function emailOff(db: Executor, userId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('notification_preferences').select('kind').where('user_id', '=', userId).where('email', '=', 0).execute();
  return new Set(rows.map((r) => r.kind));
}

export async function setEmail(db: Executor, userId: string, kind: NotificationKind, on: boolean): Promise<void> {
  await db
    .insertInto('notification_preferences')
    .values({ user_id: userId, kind, email: on ? 1 : 0 })
    .onConflict((oc) => oc.columns(['user_id', 'kind']).doUpdateSet({ email: on ? 1 : 0 }))
    .execute();
}

export async function pruneNotifications(db: Executor, before: string): Promise<number> {
  const result = await db.deleteFrom('notifications').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deliveries leave the log after a while (their retries end within two days; one still pending by then never will). */
export async function pruneDeliveries(db: Executor, before: string): Promise<number> {
  const result = await db.deleteFrom('webhook_deliveries').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
