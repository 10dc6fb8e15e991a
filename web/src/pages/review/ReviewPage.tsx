/**
 * /review/:versionId (linked from the portal's mails): everything a reviewer needs to decide on a
 * version (GET /v1/review/{version_id}): its claim, the decision form, the permission changes
 * against the last published version, the findings by tier with their explanations, the
 * manifest, the files with their sizes, earlier decisions on the app, and the package to download.
 * A decision by someone else arrives from the live event stream.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem, isApiProblem } from '../../api/problem';
import type { paths } from '@mosis/api-client';
import type { Finding, VersionStatus } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { ConfirmDialog } from '../../components/Dialog';
import { FormError, TextAreaField } from '../../components/form';
import { Page } from '../../components/Page';
import { ScrollTable } from '../../components/ScrollTable';
import { PackageFindings } from '../../components/PackageFindings';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/StatusBadge';
import { Time, absoluteTime } from '../../components/Time';
import { useUser } from '../../session/session';
import { useLiveEvents } from '../insights/live-events';
import { formatBytes } from '../store/format';
import { FileTree } from './FileTree';
import { ManifestView } from './ManifestView';
import { PermissionChanges } from './PermissionChanges';
import { REVIEW_EVENT_TYPES, REVIEW_ITEM_KEY, REVIEW_QUEUE_KEY, type ReviewItem } from './types';

type Decision = paths['/v1/review/{version_id}/decision']['post']['responses'][200]['content']['application/json'];

const VERSION_STATUSES: readonly string[] = ['processing', 'failed', 'pending_review', 'approved', 'rejected', 'published', 'yanked'];

export default function ReviewPage() {
  const { versionId = '' } = useParams();
  const queryClient = useQueryClient();
  const item = useQuery({
    queryKey: [REVIEW_ITEM_KEY, versionId],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/review/{version_id}', { params: { path: { version_id: versionId } }, signal })),
  });
  useLiveEvents(REVIEW_EVENT_TYPES, (event) => {
    if (event.data['version_id'] === versionId) void queryClient.invalidateQueries({ queryKey: [REVIEW_ITEM_KEY, versionId] });
  });

  if (item.isPending) return <Loading label="Loading the version" />;
  if (item.isError) {
    const missing = isApiProblem(item.error) && (item.error.code === 'review_item_not_found' || item.error.code === 'validation_failed');
    return (
      <Page title={missing ? 'Version not found' : 'Review'}>
        {missing ? (
          <EmptyState title="No version to review here" action={<Link to="/review">Back to the queue</Link>}>
            <p>This version does not exist, or it has not passed its checks (only versions that did come to review).</p>
          </EmptyState>
        ) : (
          <ErrorState error={item.error} onRetry={() => void item.refetch()} />
        )}
      </Page>
    );
  }
  return <Review item={item.data} />;
}

function Review({ item }: { item: ReviewItem }) {
  const { version, app, developer } = item;
  const findings: Finding[] = [...item.findings['1'], ...item.findings['2'], ...item.findings['3']].filter((f): f is Finding => f.tier === 1 || f.tier === 2 || f.tier === 3);
  const permissions = Array.isArray(item.manifest['permissions']) ? item.manifest['permissions'].filter((p): p is string => typeof p === 'string') : [];
  const pending = version.status === 'pending_review';
  // Kept here: the decision refreshes the version (no longer pending), which unmounts its form.
  const [decided, setDecided] = useState<Decision | null>(null);
  const name = `${app.name} ${version.version}`;
  return (
    <Page
      title={`Review ${app.name} ${version.version}`}
      description={
        <>
          <code>{app.package_id}</code> · version code {version.version_code} · by {developer.name}
        </>
      }
      actions={
        <a className="button" href={item.download_url} download>
          Download the package ({formatBytes(version.size)})
        </a>
      }
    >
      <nav aria-label="On this page" className="review-toc">
        <ul>
          <li>
            <a href="#review-decision">{pending ? 'Decision' : 'Status'}</a>
          </li>
          <li>
            <a href="#review-permissions">Permissions</a>
          </li>
          <li>
            <a href="#review-findings">Findings</a>
          </li>
          <li>
            <a href="#review-manifest">Manifest</a>
          </li>
          <li>
            <a href="#review-files">Files</a>
          </li>
          <li>
            <a href="#review-history">Earlier decisions</a>
          </li>
        </ul>
      </nav>

      <div className="review-grid">
        <div className="stack">
          <section aria-labelledby="review-decision" className="card review-decision">
            <h2 id="review-decision">{pending ? 'Decision' : 'Status'}</h2>
            <p>
              <StatusBadge status={(VERSION_STATUSES.includes(version.status) ? version.status : 'processing') as VersionStatus} />
            </p>
            {decided ? (
              <div className="banner review-done" role="status">
                <p>
                  {decided.review.decision === 'approve'
                    ? decided.status === 'published'
                      ? `Approved: ${name} is signed and, as its app publishes on approval, already in the store.`
                      : `Approved: ${name} is signed with the store key, and its developer can publish it.`
                    : `Rejected: the developer gets your notes.`}{' '}
                  <Link to="/review">Back to the queue</Link>
                </p>
              </div>
            ) : pending ? (
              <>
                <ClaimPanel item={item} />
                <DecisionForm item={item} onDecided={setDecided} />
              </>
            ) : (
              <p>This version is no longer waiting for review: nothing is left to decide. The developer sees the decision on the version’s page.</p>
            )}
          </section>

          <section aria-labelledby="review-permissions" className="card">
            <h2 id="review-permissions">Permissions</h2>
            <PermissionChanges changes={item.permission_changes} permissions={permissions} />
          </section>

          <section aria-labelledby="review-findings" className="card">
            <h2 id="review-findings">Findings</h2>
            <PackageFindings findings={findings} headingLevel={3} emptyText="No findings: every check passed without a warning." />
          </section>

          <section aria-labelledby="review-manifest" className="card">
            <h2 id="review-manifest">Manifest</h2>
            <ManifestView manifest={item.manifest} />
          </section>

          <section aria-labelledby="review-files" className="card">
            <h2 id="review-files">Files</h2>
            {item.files === null ? <p className="muted">The file list was not kept for this version (uploaded before the portal kept it). Download the package to see its files.</p> : <FileTree files={item.files} />}
          </section>

          <section aria-labelledby="review-history" className="card">
            <h2 id="review-history">Earlier decisions on this app</h2>
            <PreviousDecisions decisions={item.previous_decisions} />
          </section>
        </div>

        <aside aria-labelledby="review-facts" className="card review-facts">
          <h2 id="review-facts">Version</h2>
          <dl>
            <dt>App</dt>
            <dd>
              {app.name} <code>{app.package_id}</code>
            </dd>
            <dt>Version</dt>
            <dd>
              {version.version} (code {version.version_code})
            </dd>
            <dt>Developer</dt>
            <dd>{developer.name}</dd>
            <dt>Uploaded</dt>
            <dd>
              <Time value={version.created_at} />
            </dd>
            <dt>Size</dt>
            <dd>{formatBytes(version.size)}</dd>
            <dt>SHA-256</dt>
            <dd>
              <code id="review-sha256" className="review-hash">
                {version.sha256}
              </code>{' '}
              <CopyButton value={version.sha256} targetId="review-sha256" label="Copy" />
            </dd>
          </dl>
          <h3>Release notes</h3>
          {version.release_notes ? <p className="review-release-notes">{version.release_notes}</p> : <p className="muted">None written.</p>}
        </aside>
      </div>
    </Page>
  );
}

/** Who holds the version, until when, and the buttons to take, renew or give it up. */
function ClaimPanel({ item }: { item: ReviewItem }) {
  const user = useUser();
  const queryClient = useQueryClient();
  const versionId = item.version.id;
  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: [REVIEW_ITEM_KEY, versionId] }), queryClient.invalidateQueries({ queryKey: REVIEW_QUEUE_KEY })]);
  const claim = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/review/{version_id}/claim', { params: { path: { version_id: versionId } } })),
    onSuccess: refresh,
  });
  const release = useMutation({
    mutationFn: () => unwrap(api.DELETE('/v1/review/{version_id}/claim', { params: { path: { version_id: versionId } } })),
    onSuccess: refresh,
  });
  const held = item.claim;
  const mine = held?.reviewer_id === user.id;
  const error = claim.error ?? release.error;
  return (
    <div className="review-claim">
      <p role="status">
        {held === null ? (
          'Nobody has claimed this version. Claim it so that no other reviewer decides on it while you look.'
        ) : mine ? (
          <>
            You hold the claim until <time dateTime={held.expires_at}>{absoluteTime(new Date(held.expires_at))}</time> (<Time value={held.expires_at} />
            ). Your decision releases it.
          </>
        ) : (
          <>
            {held.reviewer_name ?? 'Another reviewer'} holds the claim until <time dateTime={held.expires_at}>{absoluteTime(new Date(held.expires_at))}</time>: only they can decide
            until they release it or it lapses.
          </>
        )}
      </p>
      <div className="review-buttons">
        {held === null || mine ? (
          <button type="button" className="button" onClick={() => claim.mutate()} disabled={claim.isPending} aria-busy={claim.isPending || undefined}>
            {claim.isPending ? 'Claiming…' : mine ? 'Renew the claim' : 'Claim'}
          </button>
        ) : null}
        {mine ? (
          <button type="button" className="button button-plain" onClick={() => release.mutate()} disabled={release.isPending} aria-busy={release.isPending || undefined}>
            {release.isPending ? 'Releasing…' : 'Release the claim'}
          </button>
        ) : null}
      </div>
      {error ? (
        <div className="form-error" role="alert">
          <p className="form-error-title">{isApiProblem(error) ? error.title : 'The claim failed'}</p>
          {isApiProblem(error) && error.detail !== error.title ? <p>{error.detail}</p> : null}
        </div>
      ) : null}
    </div>
  );
}

/**
 * Approve or reject, with notes for the developer. The API decides what is missing: a rejection
 * without notes comes back as review_notes_required, shown under the notes field.
 */
function DecisionForm({ item, onDecided }: { item: ReviewItem; onDecided: (decision: Decision) => void }) {
  const user = useUser();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [notes, setNotes] = useState('');
  const versionId = item.version.id;
  const decide = useMutation({
    mutationFn: (decision: 'approve' | 'reject') =>
      unwrap(api.POST('/v1/review/{version_id}/decision', { params: { path: { version_id: versionId } }, body: { decision, ...(notes.trim() ? { notes } : {}) } })),
    onSuccess: async (decision) => {
      setConfirming(false);
      onDecided(decision);
      await Promise.all([queryClient.invalidateQueries({ queryKey: [REVIEW_ITEM_KEY, versionId] }), queryClient.invalidateQueries({ queryKey: REVIEW_QUEUE_KEY })]);
    },
    onError: () => setConfirming(false),
  });
  const problem = formProblem(decide.error, ['notes', 'decision'], { review_notes_required: 'notes' });
  const heldByOther = item.claim !== null && item.claim.reviewer_id !== user.id;
  const name = `${item.app.name} ${item.version.version}`;

  return (
    <form
      className="form review-decision-form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
      }}
    >
      <FormError problem={problem} />
      <TextAreaField
        label="Notes for the developer"
        name="notes"
        value={notes}
        onChange={(event) => setNotes(event.target.value)}
        maxLength={4000}
        hint="Required to reject: say what must change. The developer reads them, and they are kept in the audit log."
        error={problem.field('notes')}
      />
      {heldByOther ? <p className="muted small">You can decide once the claim is released or lapses.</p> : null}
      <div className="review-buttons">
        <button type="button" className="button button-primary" disabled={decide.isPending || heldByOther} onClick={() => setConfirming(true)}>
          Approve
        </button>
        <button type="button" className="button button-danger" disabled={decide.isPending || heldByOther} aria-busy={(decide.isPending && decide.variables === 'reject') || undefined} onClick={() => decide.mutate('reject')}>
          {decide.isPending && decide.variables === 'reject' ? 'Rejecting…' : 'Reject'}
        </button>
      </div>
      <ConfirmDialog open={confirming} title={`Approve ${name}?`} confirmLabel="Approve" busy={decide.isPending} onConfirm={() => decide.mutate('approve')} onClose={() => setConfirming(false)}>
        <p>The version is signed with the store key and its developer can publish it. An app that publishes on approval goes to the store at once.</p>
        {notes.trim() ? <p>Your notes go to the developer with the approval.</p> : null}
      </ConfirmDialog>
    </form>
  );
}

function PreviousDecisions({ decisions }: { decisions: ReviewItem['previous_decisions'] }) {
  if (decisions.length === 0) return <p className="muted">None: this is the first version of the app a reviewer decides on.</p>;
  return (
    <ScrollTable label="Earlier decisions">
      <table className="table">
        <caption className="visually-hidden">Earlier decisions on this app, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Decision</th>
            <th scope="col">Reviewer</th>
            <th scope="col">When</th>
            <th scope="col">Notes</th>
          </tr>
        </thead>
        <tbody>
          {decisions.map((decision) => (
            <tr key={decision.version_id}>
              <td>
                {decision.version} <span className="muted small">(code {decision.version_code})</span>
              </td>
              <td>{decision.decision === 'approve' ? <span className="badge badge-success">Approved</span> : <span className="badge badge-danger">Rejected</span>}</td>
              <td>{decision.reviewer_name ?? <span className="muted">Unknown</span>}</td>
              <td>
                <Time value={decision.decided_at} />
              </td>
              <td className="review-notes">{decision.notes ?? <span className="muted">None</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}
