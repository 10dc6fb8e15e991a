import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const VERSION_COLUMNS = [
  // A rollout below 100 % stopped (by its developer or the crash guard), and why.
  'halted_at',
  'halt_reason',
  // Withdrawn from the store, and the reason shown to the developer.
  'yanked_at',
  'yank_reason',
  // A newer version took this one's place on its channel; it is no longer live.
  'superseded_at',
] as const;

/** Release (issue 11): publish on a channel, staged rollout, halt, yank, supersede; auto-publish and the crash guard per app. */
export async function up(db: AnyDb): Promise<void> {
  for (const name of VERSION_COLUMNS) await db.schema.alterTable('versions').addColumn(name, 'text').execute();
  // 0/1 on both dialects: one code path, no boolean mapping.
  await db.schema.alterTable('apps').addColumn('auto_publish', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // The crash guard's rule per app: a staged rollout halts when crash-free sessions fall below the
  // percentage over at least this many sessions.
  await db.schema.alterTable('apps').addColumn('crash_guard_percent', 'real', (c) => c.notNull().defaultTo(97)).execute();
  await db.schema.alterTable('apps').addColumn('crash_guard_min_sessions', 'integer', (c) => c.notNull().defaultTo(200)).execute();
  // At most one live version per app and channel: what publishing supersedes and the store serves.
  // The release service serializes per app; this holds even if something slips past it.
  await db.schema
    .createIndex('versions_live')
    .on('versions')
    .columns(['app_id', 'channel'])
    .unique()
    .where(sql<boolean>`status = 'published' and superseded_at is null`)
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('versions_live').execute();
  for (const name of ['crash_guard_min_sessions', 'crash_guard_percent', 'auto_publish']) await db.schema.alterTable('apps').dropColumn(name).execute();
  for (const name of [...VERSION_COLUMNS].reverse()) await db.schema.alterTable('versions').dropColumn(name).execute();
}
