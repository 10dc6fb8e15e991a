/** The store API's answers as the store pages use them (the generated schema is the contract). */
import type { paths } from '@mosis/api-client';

type Json<P extends keyof paths, Status extends number = 200> = paths[P] extends { get: { responses: { [S in Status]: { content: { 'application/json': infer T } } } } } ? T : never;

export type StoreCatalogPage = Json<'/v1/store/apps'>;
export type StoreAppItem = StoreCatalogPage['items'][number];
export type StoreAppDetail = Json<'/v1/store/apps/{package_id}'>;
export type StoreVersion = NonNullable<StoreAppDetail['version']>;
export type StoreVersionPage = Json<'/v1/store/apps/{package_id}/versions'>;
export type StoreCategories = Json<'/v1/store/categories'>;
export type StoreSort = NonNullable<NonNullable<paths['/v1/store/apps']['get']['parameters']['query']>['sort']>;
