import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import type { PortalSession } from './portal.js';
import { USER_AGENT } from './portal.js';

/**
 * Follows the portal's live event stream (GET /v1/events, Server-Sent Events) while a verb waits:
 * each event of the caller's apps calls `onEvent`. A broken connection (a flaky network, the
 * portal restarting) is opened again after a pause, resuming with Last-Event-ID so nothing sent
 * meanwhile is missed. Ends when `signal` aborts.
 */
export interface PortalEvent {
  id: string;
  type: string;
  app_id: string | null;
  data: Record<string, unknown>;
}

const RECONNECT_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000];

export function followEvents(session: PortalSession, onEvent: (event: PortalEvent) => void, signal: AbortSignal): { connected: Promise<void> } {
  let lastEventId: string | undefined;
  let markConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (markConnected = resolve));

  const run = async () => {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const response = await fetch(`${session.url}/v1/events`, {
          headers: { accept: 'text/event-stream', authorization: `Bearer ${session.token}`, 'user-agent': USER_AGENT, ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
          signal,
        });
        if (!response.ok || response.body === null) throw new Error(`the event stream answered ${response.status}`);
        markConnected();
        const parser = createParser({
          onEvent(message) {
            // A stream that delivers is healthy: the next break starts the back-off over.
            failures = 0;
            if (message.id !== undefined) lastEventId = message.id;
            try {
              onEvent(JSON.parse(message.data) as PortalEvent);
            } catch {
              // Not an event of ours (a comment, a heartbeat): nothing to do.
            }
          },
        });
        const decoder = new TextDecoder();
        for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      } catch {
        if (signal.aborted) return;
      }
      // The stream ended or failed: the waiting verb still polls, so a pause costs nothing but latency.
      markConnected();
      const delay = RECONNECT_DELAYS_MS[Math.min(failures, RECONNECT_DELAYS_MS.length - 1)] ?? 10_000;
      failures += 1;
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  };
  void run();
  return { connected };
}
