export { EVENT_TYPES, isEventType } from './event-types.js';
export type { EventType } from './event-types.js';
export { appendEvent, EVENTS_CHANNEL, MAX_PAYLOAD_BYTES } from './append.js';
export type { EventPayload, NewEvent } from './append.js';
export { readEventsAfter, latestEventId, MAX_READ_BATCH } from './read.js';
export type { DomainEvent } from './read.js';
export { EventLog } from './event-log.js';
export type { EventLogOptions, EventNotifier, Subscription } from './event-log.js';
export type { EventLogLogger } from './pg-listener.js';
