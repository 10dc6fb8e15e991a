import { defineErrors } from '../../shared/index.js';

/** The live event stream's codes (GET /v1/events). */
export const liveStreamErrors = defineErrors('notifications', {
  invalid_last_event_id: { status: 400, title: 'Last-Event-ID is not an event id' },
  live_streams_full: { status: 503, title: 'This server holds as many live event streams as it may' },
});

export const liveStreamError = liveStreamErrors.error;
