import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Notifications (issue 14): in-app notifications, email preferences, webhooks and their delivery
 * log, and the position of each durable follower of the event log. Booleans are 0/1 on both
 * dialects (one code path, as in 0010).
 */
export async function up(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const bigint = postgres ? 'bigint' : 'integer';

  // Where a durable consumer of the event log is: it resumes from here after a restart.
  await db.schema
    .createTable('event_cursors')
    .addColumn('consumer', 'text', (c) => c.primaryKey())
    .addColumn('position', bigint, (c) => c.notNull())
    .execute();
  // The notifications fan-out starts at the newest event: an upgraded portal does not tell of its past.
  await sql`insert into event_cursors (consumer, position) select 'notifications', coalesce(max(id), 0) from events`.execute(db);

  await db.schema
    .createTable('notifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text')
    // The event it tells of: also the list's order (ids within one millisecond are not ordered).
    .addColumn('event_id', bigint, (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('link', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('read_at', 'text')
    .execute();
  // One notification per person per event however often the consumer replays it; the newest first.
  await db.schema.createIndex('notifications_event').on('notifications').columns(['user_id', 'event_id']).unique().execute();
  // The unread count.
  await db.schema.createIndex('notifications_unread').on('notifications').columns(['user_id']).where(sql<boolean>`read_at is null`).execute();
  await db.schema.createIndex('notifications_created').on('notifications').columns(['created_at']).execute();

  // Only the kinds a person turned off or on again: no row is the default (on).
  await db.schema
    .createTable('notification_preferences')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('email', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_preferences_pk', ['user_id', 'kind'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    // JSON array of event types.
    .addColumn('events', 'text', (c) => c.notNull())
    // The signing secret, sealed with the server key (shown once, needed at every delivery).
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'text')
    // Since when every delivery failed (null: the last one succeeded, or none ran yet).
    .addColumn('failing_since', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_app').on('webhooks').columns(['app_id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_id', bigint)
    .addColumn('event_type', 'text', (c) => c.notNull())
    // The JSON body as sent (every attempt and a redelivery send the same bytes).
    .addColumn('body', 'text', (c) => c.notNull())
    // pending → succeeded | failed (a failed attempt with retries left stays pending).
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('error', 'text')
    .addColumn('redelivery_of', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('attempted_at', 'text')
    .execute();
  // An event is delivered once per webhook however often the consumer replays it; redeliveries add rows.
  await db.schema
    .createIndex('webhook_deliveries_event')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'event_id'])
    .unique()
    .where(sql<boolean>`event_id is not null and redelivery_of is null`)
    .execute();
  await db.schema.createIndex('webhook_deliveries_log').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_created').on('webhook_deliveries').columns(['created_at']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['webhook_deliveries', 'webhooks', 'notification_preferences', 'notifications', 'event_cursors']) await db.schema.dropTable(table).execute();
}
