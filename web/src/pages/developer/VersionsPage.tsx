/**
 * /apps/:appId/versions: every version of an app, newest upload first (GET
 * /v1/apps/{app_id}/versions, 20 at a time), with its status, rollout, size and upload time,
 * filtered by status if asked (?status=…, so a filtered list can be linked). Live events refresh
 * the statuses.
 */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { VersionStatus } from '../../api/types';
import { appQuery, VERSIONS_KEY } from '../../components/appQueries';
import { AppSectionNav } from '../../components/AppSectionNav';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { statusLabel } from '../../components/StatusBadge';
import { useAppLiveEvents } from '../../components/useAppLiveEvents';
import { VersionsTable } from '../../components/VersionsTable';
import { ShowMore } from '../../components/ShowMore';

const STATUSES: readonly VersionStatus[] = ['processing', 'failed', 'pending_review', 'approved', 'rejected', 'published', 'yanked'];
const PAGE_SIZE = 20;

function isStatus(value: string | null): value is VersionStatus {
  return value !== null && (STATUSES as readonly string[]).includes(value);
}

export default function VersionsPage() {
  const { appId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const requested = params.get('status');
  const status = isStatus(requested) ? requested : undefined;
  useAppLiveEvents();
  const app = useQuery(appQuery(appId));
  const versions = useInfiniteQuery({
    queryKey: [VERSIONS_KEY, appId, { limit: PAGE_SIZE, status: status ?? null }],
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET('/v1/apps/{app_id}/versions', {
          params: { path: { app_id: appId }, query: { limit: PAGE_SIZE, ...(status ? { status } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = versions.data?.pages.flatMap((page) => page.items) ?? [];
  const upload = (
    <Link to={`/apps/${appId}/versions/new`} className="button button-primary">
      Upload a version
    </Link>
  );

  return (
    <Page title="Versions" actions={upload}>
      <AppSectionNav appId={appId} app={app.data} />
      <div className="dev-toolbar">
        <label htmlFor="version-status-filter">Show</label>
        <select
          id="version-status-filter"
          value={status ?? ''}
          onChange={(event) => {
            const next = event.currentTarget.value;
            setParams(next ? { status: next } : {}, { replace: true });
          }}
        >
          <option value="">Every status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
      </div>
      {versions.isPending ? (
        <Loading label="Loading the versions" />
      ) : versions.isError ? (
        <ErrorState error={versions.error} onRetry={() => void versions.refetch()} />
      ) : items.length === 0 ? (
        status ? (
          <EmptyState title={`No version with the status “${statusLabel(status)}”`} action={<Link to={`/apps/${appId}/versions`}>Show every version</Link>} />
        ) : (
          <EmptyState title="No versions yet" action={upload}>
            <p>
              Build and sign your app with <code>mosis build</code>, then upload the <code>.mosis</code> file: its checks run at once, then a reviewer looks at it.
            </p>
          </EmptyState>
        )
      ) : (
        <>
          <VersionsTable appId={appId} versions={items} caption={status ? `Versions with the status “${statusLabel(status)}”` : 'Every version, newest first'} />
          <ShowMore query={versions} label="Show older versions" />
        </>
      )}
    </Page>
  );
}
