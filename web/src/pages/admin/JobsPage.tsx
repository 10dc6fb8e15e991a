/**
 * /admin/jobs: the background job queue. How many jobs are in each state, in all and per kind
 * (GET /v1/admin/jobs/summary); the jobs of a state and kind, newest first, a page at a time (dead
 * ones by default, each with its last error); retrying a dead job, or discarding it for good.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { paths } from '@mosis/api-client';
import { ConfirmDialog } from '../../components/Dialog';
import { FormError, SelectField } from '../../components/form';
import { Page } from '../../components/Page';
import { useUrlParams } from '../../components/useUrlParams';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { AdminNav } from './AdminNav';
import { Notice } from '../settings/Notice';
import { ScrollTable } from '../../components/ScrollTable';
import { ShowMore } from '../../components/ShowMore';

type Job = paths['/v1/admin/jobs']['get']['responses'][200]['content']['application/json']['items'][number];
type JobState = Job['state'];

const JOBS_KEY = ['/v1/admin/jobs'] as const;
const SUMMARY_KEY = ['/v1/admin/jobs/summary'] as const;

const STATES: Record<JobState, { label: string; tone: 'neutral' | 'info' | 'success' | 'danger'; explanation: string }> = {
  queued: { label: 'Queued', tone: 'neutral', explanation: 'Waiting to run, or for its next attempt' },
  running: { label: 'Running', tone: 'info', explanation: 'Held by a worker now' },
  done: { label: 'Done', tone: 'success', explanation: 'Finished in the last 7 days' },
  dead: { label: 'Dead', tone: 'danger', explanation: 'Failed every attempt; waits for you' },
};
const STATE_ORDER = Object.keys(STATES) as JobState[];

function isState(value: string): value is JobState {
  return value in STATES;
}

export default function JobsPage() {
  const queryClient = useQueryClient();
  const { params, change } = useUrlParams();
  const stateParam = params.get('state') ?? 'dead';
  // "all" is no state filter; anything unknown falls back to the dead jobs.
  const state: JobState | 'all' = stateParam === 'all' ? 'all' : isState(stateParam) ? stateParam : 'dead';
  const kind = params.get('kind') ?? '';
  const filter = { ...(state === 'all' ? {} : { state }), ...(kind ? { kind } : {}) };
  const [discarding, setDiscarding] = useState<Job | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const summary = useQuery({ queryKey: SUMMARY_KEY, queryFn: ({ signal }) => unwrap(api.GET('/v1/admin/jobs/summary', { signal })) });
  const jobs = useInfiniteQuery({
    queryKey: [...JOBS_KEY, { limit: 50, ...filter }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/admin/jobs', { params: { query: { limit: 50, ...filter, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: JOBS_KEY }), queryClient.invalidateQueries({ queryKey: SUMMARY_KEY })]);

  const retry = useMutation({
    mutationFn: (job: Job) => unwrap(api.POST('/v1/admin/jobs/{id}/retry', { params: { path: { id: job.id } } })),
    onSuccess: (job) => setNotice(`The ${job.kind} job is queued again with all ${job.max_attempts} attempts; a worker runs it now.`),
    onSettled: refresh,
  });
  const discard = useMutation({
    mutationFn: (job: Job) => unwrap(api.DELETE('/v1/admin/jobs/{id}', { params: { path: { id: job.id } } })),
    onSuccess: (_, job) => {
      setDiscarding(null);
      setNotice(`The ${job.kind} job is discarded; the audit log keeps its error.`);
    },
    onSettled: refresh,
  });
  const problem = formProblem(retry.error, []);
  const discardProblem = formProblem(discard.error, []);
  const items = jobs.data?.pages.flatMap((page) => page.items) ?? [];
  const kinds = summary.data?.by_kind.map((row) => row.kind) ?? [];

  const show = (changes: { state?: string; kind?: string }) => {
    setNotice(null);
    change(changes);
  };
  const linkTo = (changes: { state: string; kind?: string }) => `?${new URLSearchParams({ state: changes.state, ...(changes.kind ? { kind: changes.kind } : {}) }).toString()}`;

  return (
    <Page
      title="Jobs"
      description="Background work: mail, package checks, webhooks, roll-ups and chores."
      actions={
        <button type="button" className="button" onClick={() => void refresh()}>
          Refresh
        </button>
      }
    >
      <AdminNav />
      <section aria-labelledby="queue-heading" className="stack">
        <h2 id="queue-heading">The queue</h2>
        {summary.isPending ? (
          <Loading label="Loading the queue" />
        ) : summary.isError ? (
          <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />
        ) : (
          <>
            <ul className="sa-stats">
              {STATE_ORDER.map((name) => (
                <li key={name} className={name === 'dead' && summary.data.counts.dead > 0 ? 'sa-stat sa-stat-alert' : 'sa-stat'}>
                  <Link to={linkTo({ state: name })} aria-current={state === name && !kind ? 'true' : undefined}>
                    <span className="sa-stat-value">{summary.data.counts[name]}</span>
                    <span className="sa-stat-label">{STATES[name].label}</span>
                  </Link>
                  <span className="muted small">{STATES[name].explanation}</span>
                </li>
              ))}
            </ul>
            {summary.data.by_kind.length > 0 ? (
              <ScrollTable label="Jobs by kind and state">
                <table className="table sa-table-compact">
                  <caption className="visually-hidden">Jobs by kind and state</caption>
                  <thead>
                    <tr>
                      <th scope="col">Kind</th>
                      {STATE_ORDER.map((name) => (
                        <th scope="col" key={name} className="sa-numeric">
                          {STATES[name].label}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {summary.data.by_kind.map((row) => (
                      <tr key={row.kind}>
                        <th scope="row">
                          <code>{row.kind}</code>
                        </th>
                        {STATE_ORDER.map((name) => (
                          <td key={name} className="sa-numeric">
                            {row[name] === 0 ? (
                              <span className="muted">0</span>
                            ) : (
                              <Link to={linkTo({ state: name, kind: row.kind })} aria-label={`${row[name]} ${STATES[name].label.toLowerCase()} ${row.kind} jobs`}>
                                {row[name]}
                              </Link>
                            )}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
            ) : null}
          </>
        )}
      </section>

      <section aria-labelledby="jobs-heading" className="stack">
        <h2 id="jobs-heading">{state === 'all' ? 'All jobs' : `${STATES[state].label} jobs`}{kind ? ` of ${kind}` : ''}</h2>
        <div className="sa-filters sa-filters-inline">
          <SelectField label="State" name="state" value={state} onChange={(event) => show({ state: event.currentTarget.value })}>
            {STATE_ORDER.map((name) => (
              <option key={name} value={name}>
                {STATES[name].label}
              </option>
            ))}
            <option value="all">Any state</option>
          </SelectField>
          <SelectField label="Kind" name="kind" value={kind} onChange={(event) => show({ kind: event.currentTarget.value })}>
            <option value="">Any kind</option>
            {[...new Set([...kinds, ...(kind ? [kind] : [])])].map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </SelectField>
        </div>
        <Notice message={notice} />
        <FormError problem={problem} />
        {jobs.isPending ? (
          <Loading label="Loading jobs" />
        ) : jobs.isError ? (
          <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title={state === 'dead' ? 'No dead jobs' : 'No jobs here'}>
            <p>{state === 'dead' ? 'Every job has finished or is still being tried.' : 'Try another state or kind.'}</p>
          </EmptyState>
        ) : (
          <>
            <ul className="sa-jobs">
              {items.map((job) => (
                <li key={job.id} className="card sa-job">
                  <div className="sa-job-head">
                    <h3>
                      <code>{job.kind}</code>
                    </h3>
                    <span className={`badge badge-${STATES[job.state].tone}`}>{STATES[job.state].label}</span>
                  </div>
                  <dl className="sa-facts sa-facts-inline">
                    <dt>Attempts</dt>
                    <dd>
                      {job.attempts} of {job.max_attempts}
                    </dd>
                    <dt>Created</dt>
                    <dd>
                      <Time value={job.created_at} />
                    </dd>
                    <dt>{job.state === 'queued' ? 'Runs' : job.finished_at ? 'Finished' : 'Changed'}</dt>
                    <dd>
                      <Time value={job.state === 'queued' ? job.run_at : (job.finished_at ?? job.updated_at)} />
                    </dd>
                    {job.key ? (
                      <>
                        <dt>Key</dt>
                        <dd>
                          <code>{job.key}</code>
                        </dd>
                      </>
                    ) : null}
                    <dt>Id</dt>
                    <dd>
                      <code>{job.id}</code>
                    </dd>
                  </dl>
                  {job.last_error ? (
                    <div className="sa-job-error">
                      <p className="small">{job.state === 'dead' ? 'Last error' : 'Error of the last failed attempt'}</p>
                      <pre>{job.last_error}</pre>
                    </div>
                  ) : null}
                  {job.state === 'dead' ? (
                    <div className="sa-buttons">
                      <button
                        type="button"
                        className="button button-primary button-small"
                        aria-label={`Retry the ${job.kind} job ${job.id}`}
                        disabled={retry.isPending && retry.variables.id === job.id}
                        onClick={() => {
                          setNotice(null);
                          retry.mutate(job);
                        }}
                      >
                        Retry
                      </button>
                      <button
                        type="button"
                        className="button button-small"
                        aria-label={`Discard the ${job.kind} job ${job.id}`}
                        onClick={() => {
                          discard.reset();
                          setDiscarding(job);
                        }}
                      >
                        Discard
                      </button>
                    </div>
                  ) : null}
                </li>
              ))}
            </ul>
            <ShowMore query={jobs} label="Show older jobs" />
          </>
        )}
      </section>

      <ConfirmDialog
        open={discarding !== null}
        title="Discard this dead job?"
        confirmLabel="Discard"
        danger
        busy={discard.isPending}
        onConfirm={() => discarding && discard.mutate(discarding)}
        onClose={() => setDiscarding(null)}
      >
        <p>
          The <code>{discarding?.kind}</code> job is deleted and never runs again (a mail is not sent, a webhook not delivered). The audit log keeps its kind and error.
        </p>
        <FormError problem={discardProblem} />
      </ConfirmDialog>
    </Page>
  );
}
