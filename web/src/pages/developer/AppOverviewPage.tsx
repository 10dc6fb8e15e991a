/**
 * /apps/:appId, an app's overview: its status, what is live on each channel and at what rollout,
 * downloads and crash-free sessions, what needs attention, the newest versions, the release
 * settings (publish on approval, the crash guard's rule: PATCH /v1/apps/{app_id}), and deleting
 * an app that never published (DELETE /v1/apps/{app_id}, behind a confirmation).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { App, Version } from '../../api/types';
import { attentionFor, formatPercent, isLive, numberFormat } from '../../components/appAttention';
import { APPS_KEY, appQuery, downloadsQuery, recentVersionsQuery, weekHealthQuery } from '../../components/appQueries';
import { AppSectionNav } from '../../components/AppSectionNav';
import { ConfirmDialog } from '../../components/Dialog';
import { Field, FormError, SubmitButton } from '../../components/form';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/StatusBadge';
import { Time } from '../../components/Time';
import { useAppLiveEvents } from '../../components/useAppLiveEvents';
import { VersionsTable } from '../../components/VersionsTable';

export default function AppOverviewPage() {
  const { appId = '' } = useParams();
  useAppLiveEvents();
  const app = useQuery(appQuery(appId));
  const versions = useQuery(recentVersionsQuery(appId));
  const title = app.data?.name ?? 'App';
  return (
    <Page
      title={title}
      description={app.data?.summary || undefined}
      actions={
        app.data ? (
          <Link to={`/apps/${appId}/versions/new`} className="button button-primary">
            Upload a version
          </Link>
        ) : undefined
      }
    >
      <AppSectionNav appId={appId} app={app.data} />
      {app.isPending ? (
        <Loading label="Loading the app" />
      ) : app.isError ? (
        <ErrorState error={app.error} onRetry={() => void app.refetch()} />
      ) : (
        <Overview app={app.data} versions={versions.data?.items} versionsError={versions.error} retryVersions={() => void versions.refetch()} />
      )}
    </Page>
  );
}

function Overview({ app, versions, versionsError, retryVersions }: { app: App; versions: Version[] | undefined; versionsError: unknown; retryVersions: () => void }) {
  const downloads = useQuery(downloadsQuery(app.id));
  const health = useQuery(weekHealthQuery(app.id));
  const live = (versions ?? []).filter(isLive);
  const attention = versions ? attentionFor(app, versions) : [];
  return (
    <div className="dev-overview">
      <dl className="dev-stat-grid">
        <div className="dev-stat">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={app.status} />
          </dd>
        </div>
        <div className="dev-stat">
          <dt>Live</dt>
          <dd>
            {live.length === 0 ? (
              <span className="muted">Nothing published</span>
            ) : (
              <ul className="dev-plain-list">
                {live.map((v) => (
                  <li key={v.id}>
                    <Link to={`/apps/${app.id}/versions/${v.id}`}>{v.version}</Link> on {v.channel} at {v.rollout_percent} %{v.rollout?.halted ? <span className="badge badge-warning">Halted</span> : null}
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
        <div className="dev-stat">
          <dt>Downloads, 30 days</dt>
          <dd>{downloads.isPending ? '…' : downloads.isError ? <span className="muted">Unavailable</span> : numberFormat.format(downloads.data.total)}</dd>
        </div>
        <div className="dev-stat">
          <dt>Crash-free sessions, 7 days</dt>
          <dd>
            {health.isPending ? '…' : health.isError ? <span className="muted">Unavailable</span> : health.data.sessions === 0 ? <span className="muted">No sessions yet</span> : formatPercent(health.data.crashFreePercent)}
          </dd>
        </div>
        <div className="dev-stat">
          <dt>Created</dt>
          <dd>
            <Time value={app.created_at} />
          </dd>
        </div>
      </dl>

      {attention.length > 0 ? (
        <section aria-labelledby="overview-attention">
          <h2 id="overview-attention">Needs your attention</h2>
          <ul className="dev-attention-list">
            {attention.map((item) => (
              <li key={item.key} className={`dev-attention dev-attention-${item.tone}`}>
                <div>
                  <p className="dev-attention-title">{item.title}</p>
                  {item.detail ? <p className="dev-attention-detail">{item.detail}</p> : null}
                </div>
                <Link to={item.link} className="button button-small">
                  {item.linkLabel}
                </Link>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="overview-versions">
        <div className="dev-section-header">
          <h2 id="overview-versions">Newest versions</h2>
          <Link to={`/apps/${app.id}/versions`}>All versions</Link>
        </div>
        {versionsError ? (
          <ErrorState error={versionsError} onRetry={retryVersions} />
        ) : !versions ? (
          <Loading label="Loading the versions" />
        ) : versions.length === 0 ? (
          <p className="muted">
            No version yet. <Link to={`/apps/${app.id}/versions/new`}>Upload the first one</Link>: build and sign it with <code>mosis build</code>.
          </p>
        ) : (
          <VersionsTable appId={app.id} versions={versions.slice(0, 5)} caption="The five newest versions" />
        )}
      </section>

      <ReleaseSettings app={app} />
      <DeleteApp app={app} versions={versions} />
    </div>
  );
}

const SETTINGS_FIELDS = ['auto_publish', 'crash_guard.crash_free_percent', 'crash_guard.min_sessions'];

function ReleaseSettings({ app }: { app: App }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (body: { auto_publish: boolean; crash_guard: { crash_free_percent: number; min_sessions: number } }) =>
      unwrap(api.PATCH('/v1/apps/{app_id}', { params: { path: { app_id: app.id } }, body })),
    onSuccess: (updated) => {
      queryClient.setQueryData(appQuery(app.id).queryKey, updated);
      void queryClient.invalidateQueries({ queryKey: APPS_KEY });
    },
  });
  const problem = formProblem(save.error, SETTINGS_FIELDS);
  return (
    <section aria-labelledby="release-settings" className="card">
      <h2 id="release-settings">Release settings</h2>
      <form
        className="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget);
          save.mutate({
            auto_publish: data.get('auto_publish') === 'on',
            crash_guard: { crash_free_percent: Number(data.get('crash_free_percent')), min_sessions: Number(data.get('min_sessions')) },
          });
        }}
      >
        <FormError problem={problem} />
        <div className="dev-checkbox-field">
          <input type="checkbox" id="auto-publish" name="auto_publish" defaultChecked={app.auto_publish} aria-describedby="auto-publish-hint" />
          <label htmlFor="auto-publish">Publish each version as soon as it is approved</label>
          <p className="field-hint" id="auto-publish-hint">
            On the stable channel, to every device. Leave it off to choose when and to how many devices.
          </p>
        </div>
        <fieldset className="dev-fieldset">
          <legend>Crash guard</legend>
          <p className="field-hint">A staged rollout (below 100 %) halts by itself when its crash-free sessions fall under this share, once it has enough sessions to tell.</p>
          <div className="dev-field-row">
            <Field
              label="Halt below (% crash-free)"
              name="crash_free_percent"
              type="number"
              inputMode="decimal"
              min={50}
              max={100}
              step="0.1"
              required
              defaultValue={app.crash_guard.crash_free_percent}
              error={problem.field('crash_guard.crash_free_percent')}
            />
            <Field
              label="Once it has sessions"
              name="min_sessions"
              type="number"
              inputMode="numeric"
              min={10}
              max={1_000_000}
              step="1"
              required
              defaultValue={app.crash_guard.min_sessions}
              error={problem.field('crash_guard.min_sessions')}
            />
          </div>
        </fieldset>
        <div className="dev-form-actions">
          <SubmitButton busy={save.isPending} busyLabel="Saving…">
            Save release settings
          </SubmitButton>
          <span role="status" className="muted small">
            {save.isSuccess && !save.isPending ? 'Saved.' : ''}
          </span>
        </div>
      </form>
    </section>
  );
}

function DeleteApp({ app, versions }: { app: App; versions: Version[] | undefined }) {
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/v1/apps/{app_id}', { params: { path: { app_id: app.id } } })),
    onSuccess: () => {
      queryClient.removeQueries({ predicate: (query) => query.queryKey[1] === app.id });
      void queryClient.invalidateQueries({ queryKey: APPS_KEY });
      void navigate('/apps', { replace: true });
    },
  });
  // The API refuses once any version was published (installed copies depend on the app); said before asking.
  const everPublished = app.status === 'published' || (versions ?? []).some((v) => v.status === 'published' || v.status === 'yanked');
  const problem = formProblem(remove.error, []);
  return (
    <section aria-labelledby="delete-app" className="card dev-card-danger">
      <h2 id="delete-app">Delete this app</h2>
      {everPublished ? (
        <p>
          This app has published a version, so it cannot be deleted: devices that installed it depend on its package id. To take it out of the store, yank its live
          versions.
        </p>
      ) : (
        <p>Deletes the app with its versions, translations and images, and frees the package id {app.package_id} for anyone to register.</p>
      )}
      <button type="button" className="button button-danger" disabled={everPublished} onClick={() => setOpen(true)}>
        Delete app
      </button>
      <ConfirmDialog
        open={open}
        title={`Delete ${app.name}?`}
        confirmLabel="Delete app"
        danger
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
        onClose={() => {
          setOpen(false);
          remove.reset();
        }}
      >
        <p>
          The app <code>{app.package_id}</code>, its versions, translations and images are deleted for good.
        </p>
        <FormError problem={problem} />
      </ConfirmDialog>
    </section>
  );
}
