export { AppsService } from './apps.service.js';
export { appsRoutes } from './apps.routes.js';
export { appIdParams } from './apps.schemas.js';
export type { App } from './apps.table.js';
