/**
 * Short names for the API shapes the insight pages use (analytics, crash groups, webhooks,
 * notifications), taken from the generated schema so a contract change breaks the type check.
 */
import type { components, paths } from '@mosis/api-client';

type Json<T> = T extends { responses: { 200: { content: { 'application/json': infer Body } } } } ? Body : never;

export type Analytics = Json<paths['/v1/apps/{app_id}/analytics']['get']>;
export type AnalyticsPoint = Analytics['series'][number];
export type AnalyticsTotals = Analytics['totals'];
export type VersionAnalytics = Analytics['by_version'][number];
export type Percentiles = AnalyticsPoint['perf']['frame_ms'];
export type Granularity = Analytics['granularity'];

export type CrashGroup = Json<paths['/v1/apps/{app_id}/crashes/{group_id}']['get']>;
export type CrashGroupStatus = CrashGroup['status'];

export type Webhook = components['schemas']['Webhook'];
export type CreatedWebhook = components['schemas']['CreatedWebhook'];
export type WebhookDelivery = components['schemas']['WebhookDelivery'];

export type Notification = Json<paths['/v1/notifications']['get']>['items'][number];
export type EmailPreferences = Json<paths['/v1/notifications/preferences']['get']>['email'];
export type NotificationKind = keyof EmailPreferences;
