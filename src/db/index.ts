export { int8AsNumber, openDatabase, openSqliteReadOnly, openSqliteReader, pgDriver } from './connect.js';
export type { PortalDatabase } from './connect.js';
export { migrateToLatest, pendingMigrations, MigrationError } from './migrate.js';
export type { Database, Db, Executor, Dialect } from './database.js';
export { isUniqueViolation } from './errors.js';
