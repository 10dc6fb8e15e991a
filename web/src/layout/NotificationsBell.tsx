import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';

/** Invalidate this after reading notifications (or on a live event) so the count follows at once. */
export const UNREAD_COUNT_KEY = ['/v1/notifications/unread-count'] as const;

/** The bell with the number of unread notifications; the count is read again when the tab regains focus and every two minutes. */
export function NotificationsBell() {
  const unread = useQuery({
    queryKey: UNREAD_COUNT_KEY,
    queryFn: ({ signal }) => unwrap(api.GET('/v1/notifications/unread-count', { signal })),
    refetchInterval: 120_000,
    staleTime: 30_000,
  });
  const count = unread.data?.unread_count ?? 0;
  const label = count === 0 ? 'Notifications, none unread' : `Notifications, ${count} unread`;
  return (
    <Link to="/notifications" className="bell" aria-label={label} title={label}>
      <svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22">
        <path
          fill="currentColor"
          d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
        />
      </svg>
      {count > 0 ? <span className="bell-count" aria-hidden="true">{count > 99 ? '99+' : count}</span> : null}
    </Link>
  );
}
