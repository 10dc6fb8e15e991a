/**
 * /admin/audit: the audit log (GET /v1/admin/audit), newest first, older entries a page at a time
 * (cursor), filtered by actor (an email address or a user id), action, target and a date range.
 * The filters live in the URL, so a filtered log is a link an admin can share or come back to.
 */
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import type { Schemas } from '../../api/types';
import { Field, SelectField, formValues } from '../../components/form';
import { Page } from '../../components/Page';
import { ShowMore } from '../../components/ShowMore';
import { useUrlParams } from '../../components/useUrlParams';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { absoluteTime } from '../../components/Time';
import { AdminNav } from './AdminNav';
import { actionLabel, AUDIT_ACTIONS, type AuditAction } from './auditActions';
import { ScrollTable } from '../../components/ScrollTable';

type AuditEntry = Schemas['AuditEntry'];

const ACTIONS = Object.keys(AUDIT_ACTIONS).sort() as AuditAction[];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isAction(value: string): value is AuditAction {
  return value in AUDIT_ACTIONS;
}

/** The start of a day where the admin is, as the API's ISO time. */
function startOfDay(date: string): string {
  return new Date(`${date}T00:00:00`).toISOString();
}

/** "To" a day includes that day: the API's `to` is exclusive, so the next day's start. */
function endOfDayExclusive(date: string): string {
  const day = new Date(`${date}T00:00:00`);
  day.setDate(day.getDate() + 1);
  return day.toISOString();
}

function detailText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export default function AuditPage() {
  const queryClient = useQueryClient();
  const { params, setParams, change } = useUrlParams();
  const [actorError, setActorError] = useState<string | null>(null);
  const [resolving, setResolving] = useState(false);

  const actorId = params.get('actor_id') ?? '';
  const actorText = params.get('actor') ?? actorId;
  const action = params.get('action') ?? '';
  const targetId = params.get('target_id') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const query = {
    ...(actorId ? { actor_id: actorId } : {}),
    ...(isAction(action) ? { action } : {}),
    ...(targetId ? { target_id: targetId } : {}),
    ...(DATE.test(from) ? { from: startOfDay(from) } : {}),
    ...(DATE.test(to) ? { to: endOfDayExclusive(to) } : {}),
  };
  const filtered = Object.keys(query).length > 0;

  const entries = useInfiniteQuery({
    queryKey: ['/v1/admin/audit', { limit: 50, ...query }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/admin/audit', { params: { query: { limit: 50, ...query, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = entries.data?.pages.flatMap((page) => page.items) ?? [];

  /** An email address is looked up among the users (exactly); anything else is taken as an id. */
  const resolveActor = async (text: string): Promise<string | null> => {
    if (!text.includes('@')) return text;
    const email = text.toLowerCase();
    const found = await queryClient.fetchQuery({
      queryKey: ['/v1/admin/users', { limit: 100, email }],
      queryFn: ({ signal }) => unwrap(api.GET('/v1/admin/users', { params: { query: { limit: 100, email } }, signal })),
    });
    return found.items.find((user) => user.email === email)?.id ?? null;
  };

  const filterBy = (changes: Record<string, string>) => change(changes);

  return (
    <Page title="Audit log" description="Sign-ins, security changes, releases and refusals, newest first.">
      <AdminNav />
      <form
        className="sa-filters"
        role="search"
        aria-label="Filter the audit log"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget, ['actor', 'action', 'target_id', 'from', 'to']);
          const value = (name: keyof typeof values) => values[name].trim();
          setActorError(null);
          const actor = value('actor');
          setResolving(true);
          void (actor ? resolveActor(actor) : Promise.resolve(''))
            .then((id) => {
              if (id === null) {
                setActorError('No user has this email address.');
                return;
              }
              const next = new URLSearchParams();
              if (id) next.set('actor_id', id);
              if (actor && actor !== id) next.set('actor', actor);
              for (const name of ['action', 'target_id', 'from', 'to'] as const) if (value(name)) next.set(name, value(name));
              setParams(next);
            })
            .catch(() => setActorError('The users could not be searched; try again, or give the user id.'))
            .finally(() => setResolving(false));
        }}
      >
        <Field label="Actor" name="actor" defaultValue={actorText} key={`actor-${actorText}`} hint="Email address or user id" error={actorError ?? undefined} />
        <SelectField label="Action" name="action" defaultValue={isAction(action) ? action : ''} key={`action-${action}`}>
          <option value="">Any action</option>
          {ACTIONS.map((value) => (
            <option key={value} value={value}>
              {AUDIT_ACTIONS[value]} ({value})
            </option>
          ))}
        </SelectField>
        <Field label="Target id" name="target_id" defaultValue={targetId} key={`target-${targetId}`} hint="A user, app, version, key or job id" />
        <Field label="From" name="from" type="date" defaultValue={from} key={`from-${from}`} />
        <Field label="To" name="to" type="date" defaultValue={to} key={`to-${to}`} hint="Including that day" />
        <div className="sa-filters-actions">
          <button type="submit" className="button button-primary" disabled={resolving} aria-busy={resolving || undefined}>
            {resolving ? 'Looking up…' : 'Filter'}
          </button>
          {filtered ? (
            <button
              type="button"
              className="button"
              onClick={() => {
                setActorError(null);
                setParams(new URLSearchParams());
              }}
            >
              Clear
            </button>
          ) : null}
        </div>
      </form>

      {entries.isPending ? (
        <Loading label="Loading the audit log" />
      ) : entries.isError ? (
        <ErrorState error={entries.error} onRetry={() => void entries.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? 'No entry matches' : 'The log is empty'}>{filtered ? <p>Widen the date range, or clear a filter.</p> : null}</EmptyState>
      ) : (
        <>
          <ScrollTable label="Audit log entries">
            <table className="table sa-audit">
              <caption className="visually-hidden">Audit log entries{filtered ? ', filtered' : ''}</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {items.map((entry) => (
                  <AuditRow key={entry.id} entry={entry} filterBy={filterBy} />
                ))}
              </tbody>
            </table>
          </ScrollTable>
          <ShowMore query={entries} label="Show older entries" />
          {entries.hasNextPage ? null : <p className="muted small">The end of the log{filtered ? ' for these filters' : ''}.</p>}
        </>
      )}
      <p className="muted small">
        Users by address: <Link to="/admin">Users</Link>.
      </p>
    </Page>
  );
}

function AuditRow({ entry, filterBy }: { entry: AuditEntry; filterBy: (changes: Record<string, string>) => void }) {
  const details = Object.entries(entry.details);
  const target = entry.target_id === null ? null : (entry.target_email ?? `${entry.target_type ?? 'target'} ${entry.target_id}`);
  return (
    <tr>
      <td className="sa-nowrap">
        <time dateTime={entry.at}>{absoluteTime(new Date(entry.at))}</time>
      </td>
      <td>
        {entry.actor_id === null ? (
          <span className="muted">nobody signed in</span>
        ) : (
          <button type="button" className="link-button" title="Only this actor" onClick={() => filterBy({ actor_id: entry.actor_id ?? '', actor: entry.actor_email ?? '' })}>
            {entry.actor_email ?? entry.actor_id}
          </button>
        )}
      </td>
      <td>
        <button type="button" className="link-button" title="Only this action" onClick={() => filterBy({ action: entry.action })}>
          {actionLabel(entry.action)}
        </button>
        <div className="muted small">
          <code>{entry.action}</code>
        </div>
      </td>
      <td>
        {target === null ? (
          <span className="muted">—</span>
        ) : (
          <button type="button" className="link-button sa-break" title="Only this target" onClick={() => filterBy({ target_id: entry.target_id ?? '' })}>
            {target}
          </button>
        )}
      </td>
      <td className="sa-nowrap">{entry.ip ? <code>{entry.ip}</code> : <span className="muted">—</span>}</td>
      <td>
        {details.length === 0 ? (
          <span className="muted">—</span>
        ) : (
          <dl className="sa-details">
            {details.map(([key, value]) => (
              <div key={key}>
                <dt>{key}</dt>
                <dd>{detailText(value)}</dd>
              </div>
            ))}
          </dl>
        )}
      </td>
    </tr>
  );
}
