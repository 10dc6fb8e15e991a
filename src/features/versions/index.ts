export { VersionsService } from './versions.service.js';
export { versionsRoutes } from './versions.routes.js';
