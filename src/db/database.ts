import type { Kysely, Transaction } from 'kysely';
import type {
  DeviceAuthorizationsTable,
  EmailTokensTable,
  OAuthIdentitiesTable,
  OAuthStatesTable,
  RecoveryCodesTable,
  RefreshTokensTable,
  UsersTable,
  WebSessionsTable,
} from '../features/accounts/accounts.table.js';
import type { AppsTable } from '../features/apps/apps.table.js';
import type { AuditLogTable } from '../features/audit/audit.table.js';
import type { AppImagesTable } from '../features/apps/images.table.js';
import type { AppListingsTable } from '../features/apps/listings.table.js';
import type { ApiKeysTable } from '../features/keys/api-keys.table.js';
import type { SigningKeysTable } from '../features/keys/keys.table.js';
import type { VersionsTable } from '../features/versions/versions.table.js';
import type { JobsTable } from '../jobs/jobs.table.js';
import type { EventCursorsTable, EventsTable } from '../events/events.table.js';
import type { NotificationPreferencesTable, NotificationsTable, WebhookDeliveriesTable, WebhooksTable } from '../features/notifications/notifications.table.js';
import type { StoreDownloadMarksTable, StoreDownloadsTable } from '../features/store/store.table.js';
import type {
  TelemetryCrashDevicesTable,
  TelemetryCrashGroupsTable,
  TelemetryCrashReportsTable,
  TelemetryCrashVersionsTable,
  TelemetryEventsTable,
  TelemetryRollupsTable,
  TelemetrySeenTable,
  TelemetryStateTable,
} from '../features/telemetry/telemetry.table.js';

/** Every table of the portal database. Row types live beside the feature that owns them. */
export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  device_authorizations: DeviceAuthorizationsTable;
  apps: AppsTable;
  app_listings: AppListingsTable;
  app_images: AppImagesTable;
  versions: VersionsTable;
  signing_keys: SigningKeysTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  email_tokens: EmailTokensTable;
  recovery_codes: RecoveryCodesTable;
  oauth_identities: OAuthIdentitiesTable;
  oauth_states: OAuthStatesTable;
  web_sessions: WebSessionsTable;
  jobs: JobsTable;
  events: EventsTable;
  event_cursors: EventCursorsTable;
  notifications: NotificationsTable;
  notification_preferences: NotificationPreferencesTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  store_download_marks: StoreDownloadMarksTable;
  store_downloads: StoreDownloadsTable;
}

/** Every telemetry table: the telemetry file's on SQLite, beside the portal's on PostgreSQL (db/telemetry.ts). */
export interface TelemetryDatabase {
  telemetry_events: TelemetryEventsTable;
  telemetry_rollups: TelemetryRollupsTable;
  telemetry_seen: TelemetrySeenTable;
  telemetry_state: TelemetryStateTable;
  telemetry_crash_groups: TelemetryCrashGroupsTable;
  telemetry_crash_versions: TelemetryCrashVersionsTable;
  telemetry_crash_devices: TelemetryCrashDevicesTable;
  telemetry_crash_reports: TelemetryCrashReportsTable;
}

export type Db = Kysely<Database>;
/** What repositories take: the database or an open transaction on it. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type Dialect = 'sqlite' | 'postgres';
