export { VersionsService } from './versions.service.js';
export { versionsRoutes } from './versions.routes.js';
export { REVIEW_DECISIONS, type ReviewDecision, type Version, type VersionStatus } from './versions.table.js';
