export { StoreKeys, type PublishedStoreKey, type StoreSignature } from './store-keys.js';
export { storeKeysRoutes } from './store-keys.routes.js';
