import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * The durable job queue (issue 10): jobs are enqueued in the transaction of the change that causes
 * them, claimed under a lease, retried with backoff, and kept as `dead` when they run out of tries.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('key', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('locked_until', 'text')
    .addColumn('locked_by', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addCheckConstraint('jobs_state', sql`state in ('queued', 'running', 'done', 'dead')`)
    .addCheckConstraint('jobs_attempts', sql`attempts >= 0 and max_attempts >= 1`)
    .execute();
  // The database, not the workers, guarantees one job per recurring slot across instances. NULL
  // keys are distinct on both dialects, so jobs without a key are not limited.
  await db.schema.createIndex('jobs_kind_key').on('jobs').columns(['kind', 'key']).unique().execute();
  // Claiming: due queued jobs, and running jobs whose lease has passed.
  await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'run_at']).execute();
  await db.schema.createIndex('jobs_leases').on('jobs').columns(['state', 'locked_until']).execute();
  // The admin listing, newest first, by state or by kind.
  await db.schema.createIndex('jobs_by_state').on('jobs').columns(['state', 'id']).execute();
  await db.schema.createIndex('jobs_by_kind').on('jobs').columns(['kind', 'id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('jobs').execute();
}
