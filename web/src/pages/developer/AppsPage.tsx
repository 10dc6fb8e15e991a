/**
 * /apps: the developer's apps (GET /v1/apps, a page at a time), each with its name, package id and
 * status, and the way to create one.
 */
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { App } from '../../api/types';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/StatusBadge';
import { Time } from '../../components/Time';

export const APPS_KEY = ['/v1/apps'] as const;

export default function AppsPage() {
  const apps = useInfiniteQuery({
    queryKey: [...APPS_KEY, { limit: 50 }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/apps', { params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const newApp = (
    <Link to="/apps/new" className="button button-primary">
      New app
    </Link>
  );
  const items: App[] = apps.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <Page title="My apps" actions={items.length > 0 ? newApp : undefined}>
      {apps.isPending ? (
        <Loading label="Loading your apps" />
      ) : apps.isError ? (
        <ErrorState error={apps.error} onRetry={() => void apps.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title="No apps yet" action={newApp}>
          <p>Create an app to reserve its package id, then upload its first signed version.</p>
          <p>
            New to Mosis? The <a href="/docs">developer guide</a> walks through signing a package with the <code>mosis</code> CLI.
          </p>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Your apps</caption>
              <thead>
                <tr>
                  <th scope="col">App</th>
                  <th scope="col">Package id</th>
                  <th scope="col">Status</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {items.map((app) => (
                  <tr key={app.id}>
                    <td>
                      <Link to={`/apps/${app.id}`} className="app-name">
                        {app.icon_url ? <img src={app.icon_url} alt="" width="32" height="32" /> : <span className="app-icon-placeholder" aria-hidden="true" />}
                        {app.name}
                      </Link>
                    </td>
                    <td>
                      <code>{app.package_id}</code>
                    </td>
                    <td>
                      <StatusBadge status={app.status} />
                    </td>
                    <td>
                      <Time value={app.updated_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {apps.hasNextPage ? (
            <button type="button" className="button" onClick={() => void apps.fetchNextPage()} disabled={apps.isFetchingNextPage}>
              {apps.isFetchingNextPage ? 'Loading…' : 'Show more apps'}
            </button>
          ) : null}
        </>
      )}
    </Page>
  );
}
