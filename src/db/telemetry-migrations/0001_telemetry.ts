import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the table types move on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Telemetry (issue 13). On SQLite these tables are the telemetry file's own (telemetry.db, migrated
 * by its writer); on PostgreSQL the portal's migration 0014 creates them beside the portal's tables.
 *
 * - telemetry_events: raw events, the device and session as 48-bit keys of their keyed hashes. On PostgreSQL partitioned by the day they arrived, so retention
 *   drops whole partitions (made by the writer as days come); on SQLite one table, deleted by day.
 *   The id only grows (AUTOINCREMENT, a sequence): the rollup follows it.
 * - telemetry_rollups: hourly and daily aggregates, kept.
 * - telemetry_seen: what each bucket has seen (devices, sessions, crashed sessions) so that the
 *   rollup's distinct counts stay exact; pruned with the raw events.
 * - telemetry_crash_*: crash groups, their versions and devices, and the raw reports.
 */
export async function up(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const blob = postgres ? 'bytea' : 'blob';
  const bigint = postgres ? 'bigint' : 'integer';

  if (postgres) {
    await sql`create table telemetry_events (
      id bigserial not null,
      received_day text not null,
      received_ms bigint not null,
      app_id text not null,
      version_code integer not null,
      device_key bigint not null,
      session_key bigint not null,
      type text not null,
      at_ms bigint not null,
      value double precision,
      data text not null
    ) partition by range (received_day)`.execute(db);
  } else {
    await sql`create table telemetry_events (
      id integer primary key autoincrement,
      received_day text not null,
      received_ms integer not null,
      app_id text not null,
      version_code integer not null,
      device_key integer not null,
      session_key integer not null,
      type text not null,
      at_ms integer not null,
      value real,
      data text not null
    )`.execute(db);
  }
  // The rollup reads in arrival order (by id on SQLite, by time and id on PostgreSQL); a device's
  // erasure by its key. Retention needs no index: on SQLite the oldest days are the first ids
  // (rows are stored in id order), on PostgreSQL it drops partitions.
  if (postgres) await db.schema.createIndex('telemetry_events_arrival').on('telemetry_events').columns(['received_ms', 'id']).execute();
  await db.schema.createIndex('telemetry_events_device').on('telemetry_events').column('device_key').execute();

  await db.schema
    .createTable('telemetry_rollups')
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('granularity', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('version_code', 'integer', (c) => c.notNull())
    .addColumn('events', bigint, (c) => c.notNull())
    .addColumn('starts', bigint, (c) => c.notNull())
    .addColumn('sessions', bigint, (c) => c.notNull())
    .addColumn('crashed_sessions', bigint, (c) => c.notNull())
    .addColumn('session_stops', bigint, (c) => c.notNull())
    .addColumn('session_ms', postgres ? 'double precision' : 'real', (c) => c.notNull())
    .addColumn('crashes', bigint, (c) => c.notNull())
    .addColumn('lua_errors', bigint, (c) => c.notNull())
    .addColumn('unique_devices', bigint, (c) => c.notNull())
    .addColumn('screen_views', bigint, (c) => c.notNull())
    .addColumn('button_clicks', bigint, (c) => c.notNull())
    .addColumn('features_used', bigint, (c) => c.notNull())
    .addColumn('frame_ms', blob)
    .addColumn('memory_mb', blob)
    .addColumn('startup_ms', blob)
    .addColumn('devices_hll', blob)
    .addPrimaryKeyConstraint('telemetry_rollups_pk', ['app_id', 'granularity', 'bucket', 'version_code'])
    .execute();

  await db.schema
    .createTable('telemetry_seen')
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('scope', bigint, (c) => c.notNull())
    .addColumn('key', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('telemetry_seen_pk', ['day', 'scope', 'key'])
    .modifyEnd(postgres ? sql`` : sql`without rowid`)
    .execute();

  await db.schema
    .createTable('telemetry_state')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('telemetry_crash_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('crash_type', 'text', (c) => c.notNull())
    .addColumn('frames', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('resolved_version_code', 'integer')
    .addColumn('crashes', bigint, (c) => c.notNull())
    .addColumn('devices', bigint, (c) => c.notNull())
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addColumn('sample', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('telemetry_crash_groups_signature', ['app_id', 'signature'])
    .execute();
  // The developer's list: newest first, per app.
  await db.schema.createIndex('telemetry_crash_groups_app').on('telemetry_crash_groups').columns(['app_id', 'last_seen', 'id']).execute();

  await db.schema
    .createTable('telemetry_crash_versions')
    .addColumn('group_id', 'text', (c) => c.notNull().references('telemetry_crash_groups.id').onDelete('cascade'))
    .addColumn('version_code', 'integer', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('crashes', bigint, (c) => c.notNull())
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('telemetry_crash_versions_pk', ['group_id', 'version_code'])
    .execute();

  await db.schema
    .createTable('telemetry_crash_devices')
    .addColumn('group_id', 'text', (c) => c.notNull().references('telemetry_crash_groups.id').onDelete('cascade'))
    .addColumn('device_hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('telemetry_crash_devices_pk', ['group_id', 'device_hash'])
    .execute();
  await db.schema.createIndex('telemetry_crash_devices_device').on('telemetry_crash_devices').column('device_hash').execute();

  await sql`create table telemetry_crash_reports (
    id ${sql.raw(postgres ? 'bigserial primary key' : 'integer primary key autoincrement')},
    received_day text not null,
    received_ms ${sql.raw(bigint)} not null,
    app_id text not null,
    version_code integer not null,
    device_hash text not null,
    group_id text not null,
    at_ms ${sql.raw(bigint)} not null,
    crash text not null
  )`.execute(db);
  await db.schema.createIndex('telemetry_crash_reports_device').on('telemetry_crash_reports').column('device_hash').execute();
  await db.schema.createIndex('telemetry_crash_reports_day').on('telemetry_crash_reports').column('received_day').execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['telemetry_crash_reports', 'telemetry_crash_devices', 'telemetry_crash_versions', 'telemetry_crash_groups', 'telemetry_state', 'telemetry_seen', 'telemetry_rollups', 'telemetry_events']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
