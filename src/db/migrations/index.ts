import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_app_listings.js';
import * as m0003 from './0003_accounts_access.js';
import * as m0004 from './0004_account_takeover.js';
import * as m0005 from './0005_session_assurance.js';
import * as m0006 from './0006_signing_key_per_owner.js';
import * as m0007 from './0007_jobs.js';
import * as m0008 from './0008_events.js';
import * as m0009 from './0009_review.js';
import * as m0010 from './0010_release.js';
import * as m0011 from './0011_checks_job.js';
import * as m0012 from './0012_store.js';
import * as m0013 from './0013_store_spans.js';
import * as m0014 from './0014_telemetry.js';
import * as m0015 from './0015_notifications.js';
import * as m0016 from './0016_session_devices.js';
import * as m0017 from './0017_device_authorizations.js';
import * as m0018 from './0018_rate_limits.js';

/**
 * Every migration, by name, in order. Listed statically (not read from the folder) so the same set
 * runs from TypeScript sources in tests and from compiled JavaScript in production.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_app_listings': m0002,
  '0003_accounts_access': m0003,
  '0004_account_takeover': m0004,
  '0005_session_assurance': m0005,
  '0006_signing_key_per_owner': m0006,
  '0007_jobs': m0007,
  '0008_events': m0008,
  '0009_review': m0009,
  '0010_release': m0010,
  '0011_checks_job': m0011,
  '0012_store': m0012,
  '0013_store_spans': m0013,
  '0014_telemetry': m0014,
  '0015_notifications': m0015,
  '0016_session_devices': m0016,
  '0017_device_authorizations': m0017,
  '0018_rate_limits': m0018,
};
