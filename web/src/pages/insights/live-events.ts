/**
 * The portal's live event stream (GET /v1/events, Server-Sent Events; docs/live-events.md) for a
 * page that shows what it changes. The session cookie signs the stream in; EventSource reconnects
 * by itself after a drop and resumes with Last-Event-ID, so nothing is missed meanwhile.
 *
 *   useLiveEvents(['notification.created'], (event) => queryClient.invalidateQueries(…));
 */
import { useEffect, useEffectEvent, useState } from 'react';

/** One event as the stream sends it in its data line. */
export interface LiveEvent {
  id: number;
  type: string;
  app_id: string | null;
  created_at: string;
  data: Record<string, unknown>;
}

/** `closed`: the portal refused the stream (the session ended): the browser does not retry it. */
export type LiveState = 'connecting' | 'open' | 'reconnecting' | 'closed';

function parse(message: MessageEvent<unknown>): LiveEvent | null {
  if (typeof message.data !== 'string') return null;
  try {
    const event = JSON.parse(message.data) as Partial<LiveEvent>;
    if (typeof event.type !== 'string' || typeof event.id !== 'number') return null;
    return { id: event.id, type: event.type, app_id: event.app_id ?? null, created_at: event.created_at ?? '', data: event.data ?? {} };
  } catch {
    // A line we cannot read is skipped: the pages refetch on the next event anyway.
    return null;
  }
}

/**
 * Listens to the given event types while the page is shown; `onEvent` may change between renders
 * without reopening the stream. A first connection starts at the newest event, so anything that
 * happened between the page's first fetch and the stream opening would be missed: `onFirstOpen`
 * is the moment to fetch again once (reconnections resume by Last-Event-ID and miss nothing).
 * Answers whether the stream is open, for a page that says so.
 */
export function useLiveEvents(types: readonly string[], onEvent: (event: LiveEvent) => void, onFirstOpen?: () => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handle = useEffectEvent(onEvent);
  const opened = useEffectEvent(() => onFirstOpen?.());
  const key = types.join(' ');
  useEffect(() => {
    if (typeof EventSource === 'undefined') return undefined;
    const source = new EventSource('/v1/events');
    const listener = (message: MessageEvent<unknown>) => {
      const event = parse(message);
      if (event) handle(event);
    };
    const names = key.split(' ').filter(Boolean);
    for (const name of names) source.addEventListener(name, listener);
    let first = true;
    source.onopen = () => {
      setState('open');
      if (first) opened();
      first = false;
    };
    // The browser retries by itself (the stream says `retry: 5000`); a refusal (401) ends it for good (CLOSED).
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    return () => {
      for (const name of names) source.removeEventListener(name, listener);
      source.close();
    };
  }, [key]);
  return state;
}
