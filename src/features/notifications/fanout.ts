import type { Db, Executor } from '../../db/index.js';
import { EventConsumer, type DomainEvent, type EventLog } from '../../events/index.js';

/** Something done for every domain event in the fan-out's transaction. */
export interface EventReaction {
  react(trx: Executor, event: DomainEvent): Promise<unknown>;
}

/**
 * The notifications fan-out: one durable consumer of the event log (events/event-consumer.ts)
 * that turns each event into notifications, mail jobs and webhook deliveries in one transaction
 * with its position, so nothing is told twice or not at all across crashes and instances.
 */
export function notificationFanout(options: {
  db: Db;
  events: EventLog;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  reactions: readonly EventReaction[];
  /** After each commit: the job worker (mail, deliveries) and the event log (notification.created). */
  afterCommit: () => void;
}): EventConsumer {
  return new EventConsumer({
    name: 'notifications',
    db: options.db,
    events: options.events,
    logger: options.logger,
    afterCommit: options.afterCommit,
    handle: async (trx, event) => {
      // Its own events tell of what it did; the live stream reads them, nothing here reacts.
      if (event.type === 'notification.created') return;
      for (const reaction of options.reactions) await reaction.react(trx, event);
    },
  });
}
