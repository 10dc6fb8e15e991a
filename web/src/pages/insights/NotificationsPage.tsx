/**
 * /notifications: the signed-in person's in-app notifications (GET /v1/notifications, newest
 * first, a page at a time; all or unread only), each linking to the page it is about. New ones
 * arrive live from the event stream (`notification.created`): the list and the header's bell are
 * read again, and screen readers hear the title. Mark one read (opening it does too), or all.
 */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { UNREAD_COUNT_KEY } from '../../layout/NotificationsBell';
import { useLiveEvents, type LiveState } from './live-events';
import type { Notification } from './types';
import { ShowMore } from '../../components/ShowMore';

const PAGE_SIZE = 25;

const LIVE_STATES: Record<LiveState, string> = {
  connecting: 'Connecting to live updates…',
  open: 'New notifications appear here as they happen.',
  reconnecting: 'Reconnecting to live updates…',
  closed: 'Live updates stopped: reload the page to see new notifications.',
};
const NOTIFICATIONS_KEY = ['/v1/notifications'] as const;

/** Only a path of this portal is followed in the app (a link is the API's, but a link is a link). */
function internalPath(link: string): string | null {
  return /^\/(?![/\\])/.test(link) ? link : null;
}

export default function NotificationsPage() {
  const [params, setParams] = useSearchParams();
  const unreadOnly = params.get('unread') === 'true';
  const queryClient = useQueryClient();
  const filterName = useId();
  const [announcement, setAnnouncement] = useState('');

  const notifications = useInfiniteQuery({
    queryKey: [...NOTIFICATIONS_KEY, { unread: unreadOnly, limit: PAGE_SIZE }],
    queryFn: ({ pageParam, signal }) =>
      unwrap(api.GET('/v1/notifications', { params: { query: { limit: PAGE_SIZE, ...(unreadOnly ? { unread: 'true' as const } : {}), ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: NOTIFICATIONS_KEY });
    void queryClient.invalidateQueries({ queryKey: UNREAD_COUNT_KEY });
  };
  const live = useLiveEvents(
    ['notification.created'],
    (event) => {
      const title = typeof event.data['title'] === 'string' ? event.data['title'] : 'a new notification';
      setAnnouncement(`New notification: ${title}`);
      refresh();
    },
    refresh,
  );

  const markRead = useMutation({
    mutationFn: (body: { ids: string[] } | { all: true }) => unwrap(api.POST('/v1/notifications/read', { body })),
    onSuccess: (answer, body) => {
      queryClient.setQueryData(UNREAD_COUNT_KEY, { unread_count: answer.unread_count });
      setAnnouncement('all' in body ? 'Every notification is marked read.' : 'Marked read.');
      refresh();
    },
  });

  const items: Notification[] = notifications.data?.pages.flatMap((page) => page.items) ?? [];
  const unreadCount = notifications.data?.pages[0]?.unread_count ?? 0;
  const setFilter = (unread: boolean) => setParams(unread ? { unread: 'true' } : {});

  return (
    <Page
      title="Notifications"
      description="What happened to your apps: checks, reviews, releases and webhooks. Kept 90 days."
      actions={
        <>
          <button type="button" className="button" onClick={() => markRead.mutate({ all: true })} disabled={unreadCount === 0 || markRead.isPending}>
            Mark all read
          </button>
          <Link to="/settings/notifications" className="button button-plain">
            Email settings
          </Link>
        </>
      }
    >
      <div className="notifications-bar">
        {/* Named by aria-label: a visually hidden legend escapes the row's layout in Chromium. */}
        <fieldset className="ins-segmented" aria-label="Show">
          <label>
            <input type="radio" name={filterName} checked={!unreadOnly} onChange={() => setFilter(false)} />
            <span>All</span>
          </label>
          <label>
            <input type="radio" name={filterName} checked={unreadOnly} onChange={() => setFilter(true)} />
            <span>Unread ({unreadCount})</span>
          </label>
        </fieldset>
        <p className="muted small live-state">
          {LIVE_STATES[live]}
        </p>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      {markRead.isError ? (
        <p className="form-error" role="alert">
          {isApiProblem(markRead.error) ? markRead.error.detail : 'The notifications could not be marked read.'}
        </p>
      ) : null}

      {notifications.isPending ? (
        <Loading label="Loading notifications" />
      ) : notifications.isError ? (
        <ErrorState error={notifications.error} onRetry={() => void notifications.refetch()} />
      ) : items.length === 0 ? (
        unreadOnly ? (
          <EmptyState
            title="Nothing unread"
            action={
              <button type="button" className="button" onClick={() => setFilter(false)}>
                Show all notifications
              </button>
            }
          >
            <p>You have read everything. New notifications show up here as they happen.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No notifications yet">
            <p>You are told here when a version of one of your apps fails its checks, is approved, rejected, published, halted or yanked, and when a webhook is turned off.</p>
            <p>
              Choose which of them also come by email in your <Link to="/settings/notifications">email settings</Link>.
            </p>
          </EmptyState>
        )
      ) : (
        <>
          <ul className="notification-list">
            {items.map((notification) => (
              <NotificationItem key={notification.id} notification={notification} busy={markRead.isPending} onRead={() => markRead.mutate({ ids: [notification.id] })} />
            ))}
          </ul>
          <ShowMore query={notifications} label="Show older notifications" />
        </>
      )}
    </Page>
  );
}

function NotificationItem({ notification, busy, onRead }: { notification: Notification; busy: boolean; onRead: () => void }) {
  const unread = notification.read_at === null;
  const path = internalPath(notification.link);
  return (
    <li className={unread ? 'notification notification-unread' : 'notification'}>
      <div className="notification-main">
        <h2 className="notification-title">
          {unread ? <span className="unread-dot" aria-hidden="true" /> : null}
          {unread ? <span className="visually-hidden">Unread: </span> : null}
          {path ? (
            // Opening it reads it.
            <Link to={path} onClick={unread ? onRead : undefined}>
              {notification.title}
            </Link>
          ) : (
            notification.title
          )}
        </h2>
        <p>{notification.body}</p>
        <p className="muted small">
          <Time value={notification.created_at} />
        </p>
      </div>
      {unread ? (
        <button type="button" className="button button-small" onClick={onRead} disabled={busy} aria-label={`Mark read: ${notification.title}`}>
          Mark read
        </button>
      ) : null}
    </li>
  );
}
