/**
 * Live updates for the developer's app and version pages, from the portal's SSE stream
 * (GET /v1/events, docs/live-events.md): each event refreshes the queries it makes stale, so a
 * page shows a finished check, a review decision or a halted rollout as it happens, without
 * polling. The session cookie signs the stream in (same origin; a GET needs no CSRF token), and
 * EventSource reconnects by itself with Last-Event-ID, so nothing committed meanwhile is missed.
 */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { APP_KEY, APPS_KEY, LISTINGS_KEY, VERSION_HISTORY_KEY, VERSION_KEY, VERSIONS_KEY } from './appQueries';

/** An event as the stream sends it: `{id, type, app_id, created_at, data}`. */
export interface LiveEvent {
  id: number;
  type: string;
  app_id: string | null;
  created_at: string;
  data: Record<string, unknown>;
}

/** The types these pages act on; the stream may carry more (new ones are only ever added). */
const APP_EVENT_TYPES = [
  'app.created',
  'app.deleted',
  'listing.changed',
  'version.submitted',
  'version.checked',
  'version.approved',
  'version.rejected',
  'version.published',
  'version.rollout_changed',
  'version.yanked',
  'version.notes_changed',
] as const;

/** The queries events keep fresh (analytics and downloads come from device traffic, not from events). */
const LIVE_KEYS: ReadonlySet<string> = new Set([APPS_KEY[0], APP_KEY, VERSIONS_KEY, VERSION_KEY, VERSION_HISTORY_KEY, LISTINGS_KEY]);

function parse(message: MessageEvent): LiveEvent | null {
  try {
    const event = JSON.parse(String(message.data)) as Partial<LiveEvent>;
    if (typeof event.type !== 'string' || typeof event.data !== 'object' || event.data === null) return null;
    return event as LiveEvent;
  } catch {
    return null;
  }
}

/** Marks stale what an event changed; the queries on screen fetch again, the others when next shown. */
export function invalidateForEvent(queryClient: QueryClient, event: LiveEvent): void {
  const appId = event.app_id;
  // The dashboard lists statuses of every app.
  void queryClient.invalidateQueries({ queryKey: APPS_KEY });
  if (!appId) return;
  if (event.type === 'app.deleted') {
    queryClient.removeQueries({ predicate: (query) => query.queryKey[1] === appId });
    return;
  }
  void queryClient.invalidateQueries({ queryKey: [APP_KEY, appId] });
  if (event.type === 'listing.changed') {
    void queryClient.invalidateQueries({ queryKey: [LISTINGS_KEY, appId] });
    return;
  }
  if (event.type.startsWith('version.')) {
    // Every version of the app: a publish supersedes another one, a yank brings one back.
    void queryClient.invalidateQueries({ queryKey: [VERSIONS_KEY, appId] });
    void queryClient.invalidateQueries({ queryKey: [VERSION_KEY, appId] });
    void queryClient.invalidateQueries({ queryKey: [VERSION_HISTORY_KEY, appId] });
  }
}

/**
 * Follows the live stream while the calling page is shown. `onEvent` (optional) hears each app
 * event after the caches were told, e.g. to announce a status change.
 */
export function useAppLiveEvents(onEvent?: (event: LiveEvent) => void): void {
  const queryClient = useQueryClient();
  const listener = useRef(onEvent);
  useEffect(() => {
    listener.current = onEvent;
  }, [onEvent]);

  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/v1/events');
    let opened = false;
    const handle = (message: MessageEvent) => {
      const event = parse(message);
      if (!event) return;
      invalidateForEvent(queryClient, event);
      listener.current?.(event);
    };
    // The first connection starts at the newest event: whatever changed between the page's
    // first fetch and this moment is fetched again once. Reconnections resume by Last-Event-ID.
    const onOpen = () => {
      if (opened) return;
      opened = true;
      void queryClient.invalidateQueries({ predicate: (query) => LIVE_KEYS.has(String(query.queryKey[0])) });
    };
    source.addEventListener('open', onOpen);
    for (const type of APP_EVENT_TYPES) source.addEventListener(type, handle);
    return () => {
      source.removeEventListener('open', onOpen);
      for (const type of APP_EVENT_TYPES) source.removeEventListener(type, handle);
      source.close();
    };
  }, [queryClient]);
}
