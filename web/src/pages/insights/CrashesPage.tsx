/**
 * /apps/:appId/crashes: the app's crash groups (GET /v1/apps/{app_id}/crashes, most recently seen
 * first, a page at a time): what crashed, how often, on how many devices and versions, when first
 * and last, filtered by status (kept in the URL). Each opens its group's page with the stack trace.
 */
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { SelectField } from '../../components/form';
import { Page } from '../../components/Page';
import { useUrlParams } from '../../components/useUrlParams';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { AppNav } from './AppNav';
import { CRASH_STATUSES, CrashStatusBadge } from './crash-status';
import { formatCount } from './format';
import { ScrollTable } from '../../components/ScrollTable';
import type { CrashGroup, CrashGroupStatus } from './types';
import { ShowMore } from '../../components/ShowMore';

const STATUS_FILTERS = ['open', 'resolved', 'ignored'] as const satisfies readonly CrashGroupStatus[];
const PAGE_SIZE = 25;

function statusFilter(value: string | null): CrashGroupStatus | undefined {
  return STATUS_FILTERS.find((s) => s === value);
}

export default function CrashesPage() {
  const { appId = '' } = useParams();
  const { params, change } = useUrlParams();
  const status = statusFilter(params.get('status'));

  const groups = useInfiniteQuery({
    queryKey: ['/v1/apps/{app_id}/crashes', appId, { status: status ?? null, limit: PAGE_SIZE }],
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET('/v1/apps/{app_id}/crashes', {
          params: { path: { app_id: appId }, query: { limit: PAGE_SIZE, ...(status ? { status } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items: CrashGroup[] = groups.data?.pages.flatMap((page) => page.items) ?? [];

  const setStatus = (value: string) => change({ status: value });

  return (
    <Page title="Crashes">
      <AppNav appId={appId} />
      <div className="ins-filters">
        <SelectField label="Status" name="status" value={status ?? ''} onChange={(event) => setStatus(event.target.value)}>
          <option value="">Any status</option>
          {STATUS_FILTERS.map((s) => (
            <option key={s} value={s}>
              {CRASH_STATUSES[s].label}
            </option>
          ))}
        </SelectField>
      </div>
      {groups.isPending ? (
        <Loading label="Loading crash groups" />
      ) : groups.isError ? (
        <ErrorState error={groups.error} onRetry={() => void groups.refetch()} />
      ) : items.length === 0 ? (
        status ? (
          <EmptyState
            title={`No ${CRASH_STATUSES[status].label.toLowerCase()} crash groups`}
            action={
              <button type="button" className="button" onClick={() => setStatus('')}>
                Show every status
              </button>
            }
          >
            <p>{CRASH_STATUSES[status].explain}</p>
          </EmptyState>
        ) : (
          <EmptyState title="No crashes reported">
            <p>When a device sends a crash report for this app, it is grouped with the same crash from other devices and versions, and listed here.</p>
            <p>
              Crash reports come from the Mosis runtime: see <a href="/docs/telemetry#crash-reports-devices">crash reports</a> in the docs.
            </p>
          </EmptyState>
        )
      ) : (
        <>
          <ScrollTable className="ins-scroll" label="Crash groups">
            <table className="table crash-table">
              <caption className="visually-hidden">Crash groups, most recently seen first</caption>
              <thead>
                <tr>
                  <th scope="col">Crash</th>
                  <th scope="col">Status</th>
                  <th scope="col">Crashes</th>
                  <th scope="col">Devices</th>
                  <th scope="col">Versions</th>
                  <th scope="col">First seen</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {items.map((group) => (
                  <tr key={group.id}>
                    <td className="crash-title">
                      <Link to={`/apps/${encodeURIComponent(appId)}/crashes/${encodeURIComponent(group.id)}`}>{group.title}</Link>
                      <span className="muted small">
                        {group.crash_type}
                        {group.frames[0] ? (
                          <>
                            {' · '}
                            <code>{group.frames[0]}</code>
                          </>
                        ) : null}
                      </span>
                    </td>
                    <td>
                      <CrashStatusBadge status={group.status} />
                    </td>
                    <td className="ins-num">{formatCount(group.crashes)}</td>
                    <td className="ins-num">{formatCount(group.devices)}</td>
                    <td>{versionList(group)}</td>
                    <td>
                      <Time value={group.first_seen} />
                    </td>
                    <td>
                      <Time value={group.last_seen} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollTable>
          <ShowMore query={groups} label="Show more crash groups" />
        </>
      )}
    </Page>
  );
}

/** "1.0.2, 1.0.1" (newest first), shortened past three. */
function versionList(group: CrashGroup): string {
  const names = [...group.versions].sort((a, b) => b.version_code - a.version_code).map((v) => v.version);
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}
