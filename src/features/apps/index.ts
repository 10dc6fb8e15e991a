export { AppsService } from './apps.service.js';
export { appsRoutes } from './apps.routes.js';
export { appIdParams } from './apps.schemas.js';
export type { App } from './apps.table.js';
export { ListingsService } from './listings.service.js';
export { listingsRoutes } from './listings.routes.js';
export { AppImagesService } from './images.service.js';
export { appImagesRoutes } from './images.routes.js';
export { mediaRoutes } from './media.routes.js';
