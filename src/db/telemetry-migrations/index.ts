import type { Migration } from 'kysely';
import * as t0001 from './0001_telemetry.js';

/**
 * The telemetry file's migrations (SQLite), in order. On PostgreSQL the same tables come from the
 * portal's own migrations (0014_telemetry runs these), since they share its database.
 */
export const telemetryMigrations: Record<string, Migration> = {
  '0001_telemetry': t0001,
};
