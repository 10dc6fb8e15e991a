import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<any> on purpose: they must keep working after the Database type moves on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Checks run as a job (issue 11): a version is recorded `processing` before its manifest is read,
 * so it holds no version_code yet. The uniqueness of (app, version_code) leaves out `processing`
 * as it leaves out `failed`; the check job claims the code when it records the result.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('versions_app_code').execute();
  await db.schema
    .createIndex('versions_app_code')
    .on('versions')
    .columns(['app_id', 'version_code'])
    .unique()
    .where(sql<boolean>`status not in ('failed', 'processing')`)
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('versions_app_code').execute();
  await db.schema.createIndex('versions_app_code').on('versions').columns(['app_id', 'version_code']).unique().where(sql.ref('status'), '<>', 'failed').execute();
}
