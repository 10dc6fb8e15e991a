import { defineErrors } from '../../shared/index.js';

/** The webhooks' codes (issue 14): an app's signed webhooks and their delivery log. */
export const webhooksErrors = defineErrors('webhooks', {
  webhook_not_found: { status: 404, title: 'No such webhook belongs to this app' },
  webhook_delivery_not_found: { status: 404, title: 'No such delivery belongs to this webhook' },
  webhook_url_invalid: { status: 422, title: 'The webhook URL may not be used' },
  webhook_limit_reached: { status: 409, title: 'The app has the most webhooks it may have' },
  webhook_inactive: { status: 409, title: 'The webhook is not active' },
  webhook_backlog_full: { status: 429, title: 'Too many deliveries already wait for this webhook' },
});

export const webhooksError = webhooksErrors.error;
