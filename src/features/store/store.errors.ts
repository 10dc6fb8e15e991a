import { defineErrors } from '../../shared/index.js';

/** The store's codes: what devices are told when something is not in the store. */
export const storeErrors = defineErrors('store', {
  store_app_not_found: { status: 404, title: 'No published app has this package id' },
  store_package_not_found: { status: 404, title: 'This version is not in the store' },
  range_not_satisfiable: { status: 416, title: 'The requested byte range is not in the file' },
  store_search_unavailable: { status: 503, title: 'Search is busy; try again shortly' },
  store_starting: { status: 503, title: 'The store is loading its catalog; try again shortly' },
  store_index_building: { status: 503, title: 'The signed index is being built; try again shortly' },
});

export const storeError = storeErrors.error;
