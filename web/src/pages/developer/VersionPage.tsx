/**
 * /apps/:appId/versions/:versionId, a version (the portal's mails link here): its status and
 * release controls (publish, raise, halt, resume, yank), its status timeline, the review decision
 * and notes, the check findings grouped by tier with their explanations, its permissions, its
 * release notes (editable: PATCH …/versions/{version_id}) and the package's size and hash. Live
 * events keep it current: a finished check, a decision, a crash-guard halt show as they happen.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { Version } from '../../api/types';
import { appQuery, versionHistoryQuery, versionQuery, VERSION_HISTORY_KEY, VERSIONS_KEY } from '../../components/appQueries';
import { formatBytes } from '../../components/appUpload';
import { AppSectionNav } from '../../components/AppSectionNav';
import { CopyButton } from '../../components/CopyButton';
import { FormError, SubmitButton, TextAreaField } from '../../components/form';
import { PackageFindings } from '../../components/PackageFindings';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/StatusBadge';
import { Time } from '../../components/Time';
import { useAppLiveEvents } from '../../components/useAppLiveEvents';
import { VersionRolloutControls } from '../../components/VersionRolloutControls';
import { VersionTimeline } from '../../components/VersionTimeline';

export default function VersionPage() {
  const { appId = '', versionId = '' } = useParams();
  useAppLiveEvents();
  const app = useQuery(appQuery(appId));
  const version = useQuery(versionQuery(appId, versionId));
  const v = version.data;
  const title = v ? (v.version ? `Version ${v.version}` : 'New upload') : 'Version';
  return (
    <Page
      title={title}
      description={
        v ? (
          <>
            <StatusBadge status={v.status} /> {v.version_code > 0 ? `Code ${v.version_code} · ` : ''}
            {formatBytes(v.size)} · uploaded <Time value={v.created_at} />
          </>
        ) : undefined
      }
    >
      <AppSectionNav appId={appId} app={app.data} />
      {version.isPending ? (
        <Loading label="Loading the version" />
      ) : version.isError ? (
        <ErrorState error={version.error} onRetry={() => void version.refetch()} />
      ) : (
        <VersionDetail version={version.data} />
      )}
    </Page>
  );
}

function VersionDetail({ version }: { version: Version }) {
  const history = useQuery(versionHistoryQuery(version.app_id, version.id));
  return (
    <div className="dev-version-layout">
      <div className="dev-version-main">
        <VersionRolloutControls version={version} />

        {version.review ? (
          <section className="card" aria-labelledby="review-heading">
            <h2 id="review-heading">Review</h2>
            <p>
              <span className={version.review.decision === 'approve' ? 'badge badge-success' : 'badge badge-danger'}>{version.review.decision === 'approve' ? 'Approved' : 'Rejected'}</span>{' '}
              {version.review.reviewer_name ? `by ${version.review.reviewer_name}` : 'by a reviewer'}, <Time value={version.review.decided_at} />
            </p>
            {version.review.notes ? (
              <blockquote className="dev-review-notes">
                <p>{version.review.notes}</p>
              </blockquote>
            ) : (
              <p className="muted">No notes.</p>
            )}
          </section>
        ) : version.status === 'pending_review' ? (
          <section className="card" aria-labelledby="review-heading">
            <h2 id="review-heading">Review</h2>
            <p className="muted">Waiting for a reviewer. You get a notification and a mail when they decide; this page updates by itself.</p>
          </section>
        ) : null}

        <section className="card" aria-labelledby="findings-heading">
          <h2 id="findings-heading">Checks</h2>
          {version.status === 'processing' ? (
            <p className="muted">The checks are running; their findings appear here when they finish.</p>
          ) : (
            <PackageFindings findings={version.checks} />
          )}
        </section>

        <section className="card" aria-labelledby="permissions-heading">
          <h2 id="permissions-heading">Permissions</h2>
          {version.permissions.length > 0 ? (
            <ul className="dev-inline-list">
              {version.permissions.map((permission) => (
                <li key={permission}>
                  <code>{permission}</code>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">{version.status === 'processing' ? 'Known once the checks have read the manifest.' : 'None: the app asks for no permission.'}</p>
          )}
          <p className="small">
            <a href="/docs/permissions">What each permission allows</a>
          </p>
        </section>

        <ReleaseNotes version={version} />
      </div>

      <aside className="dev-version-side" aria-label="History and package">
        <section className="card" aria-labelledby="timeline-heading">
          <h2 id="timeline-heading">Timeline</h2>
          {history.isPending ? (
            <Loading label="Loading the history" />
          ) : history.isError ? (
            <ErrorState error={history.error} onRetry={() => void history.refetch()} />
          ) : (
            <VersionTimeline entries={history.data.items} version={version} />
          )}
        </section>
        <section className="card" aria-labelledby="package-heading">
          <h2 id="package-heading">Package</h2>
          <dl className="dev-facts">
            <div>
              <dt>Size</dt>
              <dd>{formatBytes(version.size)}</dd>
            </div>
            <div>
              <dt>SHA-256</dt>
              <dd>
                <code id={`sha-${version.id}`} className="dev-hash">
                  {version.sha256}
                </code>{' '}
                <CopyButton value={version.sha256} label="Copy hash" targetId={`sha-${version.id}`} />
              </dd>
            </div>
          </dl>
          <p className="small">
            <Link to={`/apps/${version.app_id}/versions`}>Every version of this app</Link>
          </p>
        </section>
      </aside>
    </div>
  );
}

function ReleaseNotes({ version }: { version: Version }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const save = useMutation({
    mutationFn: (releaseNotes: string) =>
      unwrap(api.PATCH('/v1/apps/{app_id}/versions/{version_id}', { params: { path: { app_id: version.app_id, version_id: version.id } }, body: { release_notes: releaseNotes.trim() === '' ? null : releaseNotes } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(versionQuery(version.app_id, version.id).queryKey, updated);
      void queryClient.invalidateQueries({ queryKey: [VERSIONS_KEY, version.app_id] });
      void queryClient.invalidateQueries({ queryKey: [VERSION_HISTORY_KEY, version.app_id] });
      setEditing(false);
    },
  });
  const problem = formProblem(save.error, ['release_notes']);
  return (
    <section className="card" aria-labelledby="notes-heading">
      <h2 id="notes-heading">Release notes</h2>
      {editing ? (
        <form
          className="form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            const notes = new FormData(event.currentTarget).get('release_notes');
            save.mutate(typeof notes === 'string' ? notes : '');
          }}
        >
          <FormError problem={problem} />
          <TextAreaField
            label="Release notes"
            name="release_notes"
            maxLength={4000}
            rows={5}
            defaultValue={version.release_notes ?? ''}
            autoFocus
            hint="What changed, as the store shows it. Up to 4000 characters; empty removes them."
            error={problem.field('release_notes')}
          />
          <div className="dev-form-actions">
            <SubmitButton busy={save.isPending} busyLabel="Saving…">
              Save notes
            </SubmitButton>
            <button
              type="button"
              className="button button-plain"
              onClick={() => {
                setEditing(false);
                save.reset();
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          {version.release_notes ? <p className="dev-release-notes">{version.release_notes}</p> : <p className="muted">None yet.</p>}
          <button type="button" className="button button-small" onClick={() => setEditing(true)}>
            {version.release_notes ? 'Edit release notes' : 'Write release notes'}
          </button>
        </>
      )}
    </section>
  );
}
