/**
 * /apps/:appId/crashes/:groupId: one crash group (GET /v1/apps/{app_id}/crashes/{group_id}): its
 * normalized stack (what groups crashes together), the latest report as devices sent it (message,
 * stack trace, context) in monospace with its whitespace kept, the versions it hit, and its status
 * (PATCH: resolve, ignore, open again).
 *
 * What devices send is text: React escapes it, and nothing here renders it as HTML.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { CopyButton } from '../../components/CopyButton';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { AppNav } from './AppNav';
import { CRASH_STATUSES, CrashStatusBadge } from './crash-status';
import { formatCount } from './format';
import { ScrollTable } from '../../components/ScrollTable';
import type { CrashGroup, CrashGroupStatus } from './types';

export default function CrashGroupPage() {
  const { appId = '', groupId = '' } = useParams();
  const queryClient = useQueryClient();
  const key = ['/v1/apps/{app_id}/crashes/{group_id}', appId, groupId] as const;
  const group = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/crashes/{group_id}', { params: { path: { app_id: appId, group_id: groupId } }, signal })),
  });
  const setStatus = useMutation({
    mutationFn: (status: CrashGroupStatus) => unwrap(api.PATCH('/v1/apps/{app_id}/crashes/{group_id}', { params: { path: { app_id: appId, group_id: groupId } }, body: { status } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(key, updated);
      void queryClient.invalidateQueries({ queryKey: ['/v1/apps/{app_id}/crashes', appId] });
    },
  });

  const back = (
    <Link to={`/apps/${encodeURIComponent(appId)}/crashes`} className="button">
      All crashes
    </Link>
  );

  if (group.isPending) {
    return (
      <Page title="Crash group" actions={back}>
        <AppNav appId={appId} />
        <Loading label="Loading the crash group" />
      </Page>
    );
  }
  if (group.isError) {
    const missing = isApiProblem(group.error) && (group.error.code === 'crash_group_not_found' || group.error.code === 'validation_failed');
    return (
      <Page title={missing ? 'Crash group not found' : 'Crash group'} actions={back}>
        <AppNav appId={appId} />
        <ErrorState error={group.error} {...(missing ? {} : { onRetry: () => void group.refetch() })} />
      </Page>
    );
  }
  const g = group.data;
  return (
    <Page title={g.title} actions={back}>
      <AppNav appId={appId} />
      <div className="crash-status card">
        <p>
          <CrashStatusBadge status={g.status} /> <span className="muted">{CRASH_STATUSES[g.status].explain}</span>
        </p>
        <StatusActions group={g} busy={setStatus.isPending} onChange={(status) => setStatus.mutate(status)} />
        {setStatus.isError ? (
          <p className="field-error" role="alert">
            {isApiProblem(setStatus.error) ? setStatus.error.detail : 'The status could not be changed.'}
          </p>
        ) : null}
      </div>

      <dl className="ins-stats">
        <div className="ins-stat">
          <dt>Crashes</dt>
          <dd>
            <span className="ins-stat-value">{formatCount(g.crashes)}</span>
          </dd>
        </div>
        <div className="ins-stat">
          <dt>Devices affected</dt>
          <dd>
            <span className="ins-stat-value">{formatCount(g.devices)}</span>
          </dd>
        </div>
        <div className="ins-stat">
          <dt>First seen</dt>
          <dd>
            <span className="ins-stat-value">
              <Time value={g.first_seen} />
            </span>
          </dd>
        </div>
        <div className="ins-stat">
          <dt>Last seen</dt>
          <dd>
            <span className="ins-stat-value">
              <Time value={g.last_seen} />
            </span>
          </dd>
        </div>
      </dl>

      <section aria-labelledby="crash-sample" className="crash-section">
        <h2 id="crash-sample">Latest report</h2>
        <p className="muted small">
          Version {g.sample.version} on Mosis {g.sample.mosis_version}, <Time value={g.sample.at} absolute />. Type <code>{g.crash_type}</code>.
        </p>
        <h3 id="crash-message">Message</h3>
        <pre className="ins-code" tabIndex={0} role="region" aria-labelledby="crash-message">
          {g.sample.message || '(no message)'}
        </pre>
        <div className="ins-code-heading">
          <h3 id="crash-trace">Stack trace</h3>
          {g.sample.stack_trace ? <CopyButton value={g.sample.stack_trace} label="Copy the stack trace" targetId="crash-trace-text" /> : null}
        </div>
        {g.sample.stack_trace ? (
          // Focusable, so a keyboard can scroll a long trace sideways.
          <pre className="ins-code" id="crash-trace-text" tabIndex={0} role="region" aria-labelledby="crash-trace">
            {g.sample.stack_trace}
          </pre>
        ) : (
          <p className="muted">The report had no stack trace.</p>
        )}
        {g.sample.context && Object.keys(g.sample.context).length > 0 ? (
          <>
            <h3>Context</h3>
            <dl className="context-list">
              {Object.entries(g.sample.context).map(([name, value]) => (
                <div key={name}>
                  <dt>
                    <code>{name}</code>
                  </dt>
                  <dd>{String(value)}</dd>
                </div>
              ))}
            </dl>
          </>
        ) : null}
      </section>

      <section aria-labelledby="crash-frames" className="crash-section">
        <h2 id="crash-frames">Grouped by</h2>
        <p className="muted small">
          The crash type, the message without numbers and ids, and these top frames (file and function, without line numbers): the same bug on another line,
          device or version lands in this group.
        </p>
        {g.frames.length > 0 ? (
          <ol className="frame-list">
            {g.frames.map((frame, index) => (
              <li key={`${index}-${frame}`}>
                <code>{frame}</code>
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">No frames: the report's stack trace named none.</p>
        )}
      </section>

      <section aria-labelledby="crash-versions" className="crash-section">
        <h2 id="crash-versions">Versions</h2>
        <ScrollTable className="ins-scroll" label="Crashes by version">
          <table className="table">
            <caption className="visually-hidden">Crashes of this group by version</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Crashes</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {[...g.versions]
                .sort((a, b) => b.version_code - a.version_code)
                .map((v) => (
                  <tr key={v.version_code}>
                    <th scope="row">
                      {v.version} <span className="muted small">({v.version_code})</span>
                    </th>
                    <td className="ins-num">{formatCount(v.crashes)}</td>
                    <td>
                      <Time value={v.first_seen} />
                    </td>
                    <td>
                      <Time value={v.last_seen} />
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </ScrollTable>
      </section>
    </Page>
  );
}

function StatusActions({ group, busy, onChange }: { group: CrashGroup; busy: boolean; onChange: (status: CrashGroupStatus) => void }) {
  const actions: { status: CrashGroupStatus; label: string }[] =
    group.status === 'open'
      ? [
          { status: 'resolved', label: 'Mark resolved' },
          { status: 'ignored', label: 'Ignore' },
        ]
      : [{ status: 'open', label: 'Open again' }];
  return (
    <div className="ins-actions">
      {actions.map((action) => (
        <button key={action.status} type="button" className="button" disabled={busy} onClick={() => onChange(action.status)}>
          {action.label}
        </button>
      ))}
    </div>
  );
}
