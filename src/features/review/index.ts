export { StoreKeys, type PublishedStoreKey, type StoreSignature } from './store-keys.js';
export { storeKeysRoutes } from './store-keys.routes.js';
export { ReviewService, REVIEWER_ROLES } from './review.service.js';
export { reviewRoutes } from './review.routes.js';
export { reviewErrors } from './review.errors.js';
