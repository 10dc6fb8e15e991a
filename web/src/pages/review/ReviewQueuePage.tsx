/**
 * /review (linked from the portal's mails): versions waiting for a reviewer, oldest first, with
 * the app, the developer, what the checks found, how long each has waited and who holds it.
 * Filters (claimed by me, one app) are in the address. Claiming takes a version for a while
 * (REVIEW_CLAIM_MINUTES) and opens its review page. The list follows the live event stream: a
 * version entering the queue or decided by someone else shows up at once.
 */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { Page } from '../../components/Page';
import { useUrlParams } from '../../components/useUrlParams';
import { ScrollTable } from '../../components/ScrollTable';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time, absoluteTime } from '../../components/Time';
import { useUser } from '../../session/session';
import { useLiveEvents } from '../insights/live-events';
import { daysBetween, formatBytes } from '../store/format';
import { REVIEW_EVENT_TYPES, REVIEW_QUEUE_KEY, type ReviewQueueItem } from './types';
import { ShowMore } from '../../components/ShowMore';

const PAGE_SIZE = 25;
/** Past this a version has waited long: the queue says so. */
const LONG_WAIT_DAYS = 2;

export default function ReviewQueuePage() {
  const { params, setParams, change } = useUrlParams();
  const mine = params.get('claimed') === 'me';
  const appId = params.get('app') ?? '';
  const queryClient = useQueryClient();
  const live = useLiveEvents(REVIEW_EVENT_TYPES, () => void queryClient.invalidateQueries({ queryKey: REVIEW_QUEUE_KEY }));

  const query = { limit: PAGE_SIZE, ...(mine ? { claimed: 'me' as const } : {}), ...(appId ? { app_id: appId } : {}) };
  const queue = useInfiniteQuery({
    queryKey: [...REVIEW_QUEUE_KEY, query],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/review/queue', { params: { query: { ...query, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = queue.data?.pages.flatMap((page) => page.items) ?? [];

  const setFilter = (name: string, value: string) => change({ [name]: value });
  // The app filter offers the apps in view (reviewers list no apps otherwise), and keeps the chosen one.
  const apps = new Map<string, string>();
  for (const item of items) apps.set(item.app.id, `${item.app.name} (${item.app.package_id})`);

  return (
    <Page title="Review queue" description="Versions that passed their checks and wait for a reviewer, oldest first.">
      <div className="review-filters">
        <FilterSelect label="Show" value={mine ? 'me' : ''} onChange={(value) => setFilter('claimed', value)}>
          <option value="">Everything waiting</option>
          <option value="me">Claimed by me</option>
        </FilterSelect>
        <FilterSelect label="App" value={appId} onChange={(value) => setFilter('app', value)}>
          <option value="">Every app</option>
          {appId && !apps.has(appId) ? <option value={appId}>The chosen app</option> : null}
          {[...apps].map(([id, label]) => (
            <option key={id} value={id}>
              {label}
            </option>
          ))}
        </FilterSelect>
        <p className="muted small review-live" role="status">
          {live === 'open' ? 'Updates live' : live === 'reconnecting' ? 'Reconnecting to live updates…' : ''}
        </p>
      </div>
      {queue.isPending ? (
        <Loading label="Loading the queue" />
      ) : queue.isError ? (
        <ErrorState error={queue.error} onRetry={() => void queue.refetch()} />
      ) : items.length === 0 ? (
        mine || appId ? (
          <EmptyState
            title="Nothing here"
            action={
              <button type="button" className="button" onClick={() => setParams(new URLSearchParams())}>
                Show everything waiting
              </button>
            }
          >
            <p>{mine ? 'You hold no claim on a waiting version.' : 'No version of this app is waiting for review.'}</p>
          </EmptyState>
        ) : (
          <EmptyState title="The queue is empty">
            <p>No version is waiting for review. New ones appear here as soon as their checks pass, and you get a notification.</p>
          </EmptyState>
        )
      ) : (
        <>
          <QueueTable items={items} />
          <ShowMore query={queue} label="Show more" />
        </>
      )}
    </Page>
  );
}

function FilterSelect({ label, value, onChange, children }: { label: string; value: string; onChange: (value: string) => void; children: ReactNode }) {
  const id = useId();
  return (
    <div className="review-filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
        {children}
      </select>
    </div>
  );
}

function QueueTable({ items }: { items: readonly ReviewQueueItem[] }) {
  const [now] = useState(() => new Date());
  return (
    <ScrollTable label="Waiting versions">
      <table className="table review-queue">
        <caption className="visually-hidden">Versions waiting for review</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Developer</th>
            <th scope="col">Checks</th>
            <th scope="col">Waiting</th>
            <th scope="col">Claim</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <QueueRow key={item.version.id} item={item} now={now} />
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}

function QueueRow({ item, now }: { item: ReviewQueueItem; now: Date }) {
  const user = useUser();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const claim = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/review/{version_id}/claim', { params: { path: { version_id: item.version.id } } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: REVIEW_QUEUE_KEY });
      void navigate(`/review/${item.version.id}`);
    },
  });
  const { version, app, developer, checks_summary: checks, claim: held } = item;
  const waited = daysBetween(new Date(item.waiting_since), now);
  const mine = held?.reviewer_id === user.id;
  const errorId = `claim-error-${version.id}`;
  return (
    <tr>
      <td>
        <Link to={`/review/${version.id}`} className="review-app">
          {app.name} {version.version}
        </Link>
        <div className="muted small">
          <code>{app.package_id}</code> · code {version.version_code} · {formatBytes(version.size)}
        </div>
      </td>
      <td>{developer.name}</td>
      <td>
        <ChecksSummary errors={checks.errors} warnings={checks.warnings} />
        {version.permissions.length > 0 ? <div className="muted small">Permissions: {version.permissions.join(', ')}</div> : null}
      </td>
      <td>
        <Time value={item.waiting_since} />
        {waited >= LONG_WAIT_DAYS ? (
          <div>
            <span className="badge badge-warning">Waiting {waited} days</span>
          </div>
        ) : null}
      </td>
      <td>
        {held === null ? (
          <span className="muted">Not claimed</span>
        ) : (
          <span title={`Until ${absoluteTime(new Date(held.expires_at))}`}>
            {mine ? 'You' : (held.reviewer_name ?? 'Another reviewer')}, until <Time value={held.expires_at} />
          </span>
        )}
      </td>
      <td className="review-actions">
        {held === null || mine ? (
          <button
            type="button"
            className={mine ? 'button button-small' : 'button button-small button-primary'}
            onClick={() => claim.mutate()}
            disabled={claim.isPending}
            aria-busy={claim.isPending || undefined}
            aria-describedby={claim.isError ? errorId : undefined}
          >
            {claim.isPending ? 'Claiming…' : mine ? 'Renew' : 'Claim'}
            <span className="visually-hidden">
              {' '}
              {app.name} {version.version}
            </span>
          </button>
        ) : (
          <Link to={`/review/${version.id}`} className="button button-small">
            Open<span className="visually-hidden"> {app.name} {version.version}</span>
          </Link>
        )}
        {claim.isError ? (
          <p id={errorId} className="field-error" role="alert">
            {isApiProblem(claim.error) ? claim.error.detail : 'The claim failed.'}
          </p>
        ) : null}
      </td>
    </tr>
  );
}

export function ChecksSummary({ errors, warnings }: { errors: number; warnings: number }) {
  if (errors === 0 && warnings === 0) return <span className="badge badge-success">No findings</span>;
  return (
    <span className="review-checks">
      {errors > 0 ? <span className="badge badge-danger">{errors === 1 ? '1 error' : `${errors} errors`}</span> : null}
      {warnings > 0 ? <span className="badge badge-warning">{warnings === 1 ? '1 warning' : `${warnings} warnings`}</span> : null}
    </span>
  );
}
