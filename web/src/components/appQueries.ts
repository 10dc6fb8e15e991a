/**
 * The queries the developer's app and version pages share: one key and one fetcher each, so a
 * page and the live events (useAppLiveEvents) agree on what to refresh. Keys start with the API
 * path template (web/README.md), then the ids, then the parameters.
 */
import { queryOptions } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';

export const APPS_KEY = ['/v1/apps'] as const;
export const APP_KEY = '/v1/apps/{app_id}';
export const VERSIONS_KEY = '/v1/apps/{app_id}/versions';
export const VERSION_KEY = '/v1/apps/{app_id}/versions/{version_id}';
export const VERSION_HISTORY_KEY = '/v1/apps/{app_id}/versions/{version_id}/history';
export const LISTINGS_KEY = '/v1/apps/{app_id}/listings';
export const DOWNLOADS_KEY = '/v1/apps/{app_id}/downloads';
export const ANALYTICS_KEY = '/v1/apps/{app_id}/analytics';

export function appQuery(appId: string) {
  return queryOptions({
    queryKey: [APP_KEY, appId],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}', { params: { path: { app_id: appId } }, signal })),
  });
}

export function versionQuery(appId: string, versionId: string) {
  return queryOptions({
    queryKey: [VERSION_KEY, appId, versionId],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/versions/{version_id}', { params: { path: { app_id: appId, version_id: versionId } }, signal })),
  });
}

export function versionHistoryQuery(appId: string, versionId: string) {
  return queryOptions({
    queryKey: [VERSION_HISTORY_KEY, appId, versionId],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/versions/{version_id}/history', { params: { path: { app_id: appId, version_id: versionId } }, signal })),
  });
}

/** The newest versions of an app (newest upload first): what the dashboard and the overview summarise. */
export function recentVersionsQuery(appId: string, limit = 10) {
  return queryOptions({
    queryKey: [VERSIONS_KEY, appId, { limit }],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/versions', { params: { path: { app_id: appId }, query: { limit } }, signal })),
  });
}

export function listingsQuery(appId: string) {
  return queryOptions({
    queryKey: [LISTINGS_KEY, appId],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/listings', { params: { path: { app_id: appId } }, signal })),
  });
}

/** Downloads over the last `days` UTC days, summed over every version. */
export function downloadsQuery(appId: string, days = 30) {
  return queryOptions({
    queryKey: [DOWNLOADS_KEY, appId, { days }],
    queryFn: async ({ signal }) => {
      const answer = await unwrap(api.GET('/v1/apps/{app_id}/downloads', { params: { path: { app_id: appId }, query: { days } }, signal }));
      return { days, total: answer.items.reduce((sum, item) => sum + item.downloads, 0) };
    },
    // Counted within seconds of a download, but nothing on these pages needs them to the second.
    staleTime: 60_000,
  });
}

/** The last seven days' totals (the analytics default range): sessions and the crash-free share. */
export function weekHealthQuery(appId: string) {
  return queryOptions({
    queryKey: [ANALYTICS_KEY, appId, { range: 'week-totals' }],
    queryFn: async ({ signal }) => {
      const answer = await unwrap(api.GET('/v1/apps/{app_id}/analytics', { params: { path: { app_id: appId }, query: { granularity: 'day', format: 'json' } }, signal }));
      return { sessions: answer.totals.sessions, crashFreePercent: answer.totals.crash_free_sessions_percent, uniqueDevices: answer.totals.unique_devices };
    },
    staleTime: 60_000,
  });
}
