export { StoreService } from './store.service.js';
export { storeRoutes } from './store.routes.js';
export { downloadsRoutes } from './downloads.routes.js';
export { SignedIndex } from './signed-index.js';
export { IndexWriter } from './index-writer.js';
export { storeSearch } from './search.js';
export { storeErrors } from './store.errors.js';
export { rolloutBucket, BUCKETS } from './rollout.js';

/** The store's daily chores (pruning download marks). */
export const STORE_CHORES_JOB = 'store.chores';
