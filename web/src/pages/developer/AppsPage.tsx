/**
 * /apps, the developer's dashboard: their apps (GET /v1/apps, 20 at a time) with status, the newest
 * version and its status, downloads over 30 days and crash-free sessions over 7 days, and what
 * needs their attention (failed checks, rejections, halted rollouts, approved versions to publish,
 * apps without a version).
 *
 * The API has no summary route, so each listed app costs three requests (its 10 newest versions,
 * its downloads, its analytics totals): bounded by the page of 20 apps shown; "Show more apps"
 * loads the next 20 and their figures on demand. Live events refresh what they change.
 */
import { useInfiniteQuery, useQueries, type UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { App, Version } from '../../api/types';
import { attentionFor, formatPercent, numberFormat, versionName, type AttentionItem } from '../../components/appAttention';
import { APPS_KEY, downloadsQuery, recentVersionsQuery, weekHealthQuery } from '../../components/appQueries';
import { AppIcon } from '../../components/AppSectionNav';
import { Page } from '../../components/Page';
import { ScrollTable } from '../../components/ScrollTable';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/StatusBadge';
import { useAppLiveEvents } from '../../components/useAppLiveEvents';
import { ShowMore } from '../../components/ShowMore';

const PAGE_SIZE = 20;

export default function AppsPage() {
  useAppLiveEvents();
  const apps = useInfiniteQuery({
    queryKey: [...APPS_KEY, { limit: PAGE_SIZE }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/apps', { params: { query: { limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items: App[] = apps.data?.pages.flatMap((page) => page.items) ?? [];
  const versions = useQueries({ queries: items.map((app) => recentVersionsQuery(app.id)) });
  const downloads = useQueries({ queries: items.map((app) => downloadsQuery(app.id)) });
  const health = useQueries({ queries: items.map((app) => weekHealthQuery(app.id)) });

  const newApp = (
    <Link to="/apps/new" className="button button-primary">
      New app
    </Link>
  );
  const attention: AttentionItem[] = items.flatMap((app, index) => {
    const recent = versions[index]?.data?.items;
    return recent ? attentionFor(app, recent) : [];
  });
  const stillChecking = versions.some((query) => query.isPending);

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
          <section className="dev-dashboard-attention" aria-labelledby="attention-heading">
            <h2 id="attention-heading">Needs your attention</h2>
            {attention.length > 0 ? (
              <ul className="dev-attention-list">
                {attention.map((item) => (
                  <li key={item.key} className={`dev-attention dev-attention-${item.tone}`}>
                    <div>
                      <p className="dev-attention-title">
                        <strong>{item.app.name}</strong>: {item.title}
                      </p>
                      {item.detail ? <p className="dev-attention-detail">{item.detail}</p> : null}
                    </div>
                    <Link to={item.link} className="button button-small">
                      {item.linkLabel}
                      <span className="visually-hidden"> for {item.app.name}</span>
                    </Link>
                  </li>
                ))}
              </ul>
            ) : stillChecking ? (
              <Loading label="Looking at your versions" />
            ) : (
              <p className="muted">Nothing right now: no failed checks, rejections, halted rollouts or versions waiting to be published.</p>
            )}
          </section>

          <section aria-labelledby="apps-heading">
            <h2 id="apps-heading">Apps</h2>
            <ScrollTable label="Your apps">
              <table className="table dev-dashboard-table">
                <caption className="visually-hidden">Your apps, their newest version, downloads over 30 days and crash-free sessions over 7 days</caption>
                <thead>
                  <tr>
                    <th scope="col">App</th>
                    <th scope="col">Status</th>
                    <th scope="col">Newest version</th>
                    <th scope="col" className="dev-numeric">
                      Downloads <span className="muted small">(30 days)</span>
                    </th>
                    <th scope="col" className="dev-numeric">
                      Crash-free <span className="muted small">(7 days)</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((app, index) => (
                    <tr key={app.id}>
                      <th scope="row">
                        <Link to={`/apps/${app.id}`} className="app-name">
                          <AppIcon app={app} />
                          <span>
                            {app.name}
                            <span className="dev-app-package-id">{app.package_id}</span>
                          </span>
                        </Link>
                      </th>
                      <td data-label="Status">
                        <StatusBadge status={app.status} />
                      </td>
                      <td data-label="Newest version">
                        <NewestVersion app={app} query={versions[index]} />
                      </td>
                      <td className="dev-numeric" data-label="Downloads, 30 days">
                        <Figure query={downloads[index]}>{(data) => numberFormat.format(data.total)}</Figure>
                      </td>
                      <td className="dev-numeric" data-label="Crash-free, 7 days">
                        <Figure query={health[index]}>{(data) => (data.sessions === 0 ? <span className="muted">No sessions</span> : formatPercent(data.crashFreePercent))}</Figure>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollTable>
            <ShowMore query={apps} label="Show more apps" />
          </section>
        </>
      )}
    </Page>
  );
}

type VersionsPage = { items: Version[] };

function NewestVersion({ app, query }: { app: App; query: UseQueryResult<VersionsPage> | undefined }) {
  if (!query || query.isPending) return <Pending />;
  if (query.isError) return <span className="muted">Unavailable</span>;
  const newest = query.data.items[0];
  if (!newest) {
    return (
      <Link to={`/apps/${app.id}/versions/new`} className="small">
        Upload the first version
      </Link>
    );
  }
  return (
    <span className="dev-version-cell">
      <Link to={`/apps/${app.id}/versions/${newest.id}`}>{newest.version || 'New upload'}</Link> <StatusBadge status={newest.status} />
      <span className="visually-hidden"> ({versionName(newest)})</span>
    </span>
  );
}

/** One figure of a row: a placeholder while it loads, "Unavailable" when its request failed. */
function Figure<T>({ query, children }: { query: UseQueryResult<T> | undefined; children: (data: T) => ReactNode }) {
  if (!query || query.isPending) return <Pending />;
  if (query.isError) return <span className="muted">Unavailable</span>;
  return <>{children(query.data)}</>;
}

function Pending() {
  return (
    <span className="muted">
      <span aria-hidden="true">…</span>
      <span className="visually-hidden">Loading</span>
    </span>
  );
}
