/**
 * What the portal tells people, by kind. A kind is what a person turns email on or off for
 * (GET/PUT /v1/notifications/preferences) and what an unsubscribe link names; names are part of
 * the API, only ever added.
 */
export const NOTIFICATION_KINDS = [
  'version_failed',
  'version_approved',
  'version_rejected',
  'version_published',
  'version_halted',
  'version_yanked',
  'webhook_disabled',
  'review_queue',
] as const;

export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Said on the preferences and unsubscribe pages. */
export const KIND_DESCRIPTIONS: Record<NotificationKind, string> = {
  version_failed: 'a version of your app failed its automated checks',
  version_approved: 'a version of your app was approved',
  version_rejected: 'a version of your app was rejected',
  version_published: 'a version of your app was published',
  version_halted: 'the crash guard halted a rollout of your app',
  version_yanked: 'a version of your app was yanked from the store',
  webhook_disabled: 'a webhook of your app was disabled after failing',
  review_queue: 'versions wait in the review queue (a digest, reviewers only)',
};

export function isNotificationKind(value: string): value is NotificationKind {
  return (NOTIFICATION_KINDS as readonly string[]).includes(value);
}

/**
 * Pages of the web UI a notification links to (paths under BASE_URL). The web UI routes these;
 * they are named here once so mail, in-app notifications and the UI agree.
 */
export const PAGES = {
  version: (appId: string, versionId: string) => `/apps/${encodeURIComponent(appId)}/versions/${encodeURIComponent(versionId)}`,
  webhook: (appId: string, webhookId: string) => `/apps/${encodeURIComponent(appId)}/webhooks/${encodeURIComponent(webhookId)}`,
  reviewQueue: () => '/review',
  review: (versionId: string) => `/review/${encodeURIComponent(versionId)}`,
  preferences: () => '/settings/notifications',
} as const;
