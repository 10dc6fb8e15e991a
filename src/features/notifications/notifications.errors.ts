import { defineErrors } from '../../shared/index.js';

/** The notifications feature's codes (in-app notifications, preferences, unsubscribe links). */
export const notificationsErrors = defineErrors('notifications', {
  unsubscribe_invalid: { status: 400, title: 'This unsubscribe link is not valid' },
});

export const notificationsError = notificationsErrors.error;
