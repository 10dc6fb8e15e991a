export { VersionsService } from './versions.service.js';
export { versionsRoutes } from './versions.routes.js';
export { REVIEW_DECISIONS, type ReviewDecision, type Version, type VersionStatus } from './versions.table.js';
export { ReleaseService, DEFAULT_RELEASE } from './release.service.js';
export { releaseRoutes } from './release.routes.js';
export type { Channel } from './versions.table.js';
export { CrashGuard, CRASH_GUARD_JOB, NO_HEALTH_DATA, type SessionHealth, type VersionHealth } from './crash-guard.js';
export { latestPublishedManifest } from './versions.repository.js';
export { versionsError, versionsErrors } from './versions.errors.js';
