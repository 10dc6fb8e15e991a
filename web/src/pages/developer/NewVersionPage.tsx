/**
 * /apps/:appId/versions/new: upload a signed .mosis package as a new version, in two steps.
 *
 * 1. Check: the package is sent with ?dry_run=true; every check runs at once and nothing is
 *    stored. Its findings (or the blocking ones of a 422 package_invalid) show grouped by tier,
 *    each with its explanation, before anything is submitted.
 * 2. Submit: the same file is uploaded for real (202, `processing`), which submits it for review;
 *    the status then follows the live event stream (/v1/events): checks finished, waiting for
 *    review, approved or rejected, without polling.
 *
 * Both uploads go through XMLHttpRequest for a real progress bar (appUpload.ts).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useId, useRef, useState, type ChangeEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem, isApiProblem, type ApiProblem } from '../../api/problem';
import type { DryRunResult, Finding, Version } from '../../api/types';
import { APPS_KEY, appQuery, versionQuery, VERSIONS_KEY } from '../../components/appQueries';
import { formatBytes, isAbort, uploadFile, type UploadProgress } from '../../components/appUpload';
import { AppSectionNav } from '../../components/AppSectionNav';
import { FormError, TextAreaField } from '../../components/form';
import { PackageFindings } from '../../components/PackageFindings';
import { Page } from '../../components/Page';
import { ErrorState } from '../../components/states';
import { StatusBadge } from '../../components/StatusBadge';
import { UploadProgressBar } from '../../components/UploadProgressBar';
import { useAppLiveEvents, type LiveEvent } from '../../components/useAppLiveEvents';

type Submitted = Version;

/** What the check (dry run) said. */
type CheckResult = { kind: 'passed'; result: DryRunResult } | { kind: 'failed'; findings: Finding[]; problem: ApiProblem };

/** The findings of a 422 package_invalid: the problem's `errors` carry each finding's fields. */
function findingsOf(problem: ApiProblem): Finding[] {
  return problem.errors.flatMap((error) => {
    const e = error as unknown as Record<string, unknown>;
    const tier = e['tier'];
    const severity = e['severity'];
    if ((tier !== 1 && tier !== 2 && tier !== 3) || (severity !== 'error' && severity !== 'warning') || typeof e['code'] !== 'string') return [];
    return [
      {
        tier,
        severity,
        code: e['code'],
        message: error.message,
        ...(typeof e['file'] === 'string' ? { file: e['file'] } : {}),
        ...(typeof e['line'] === 'number' ? { line: e['line'] } : {}),
      },
    ];
  });
}

/** Codes that are about the file chosen: shown under the file field. */
const FILE_CODES = { package_invalid: 'package', version_exists: 'package', package_missing: 'package', payload_too_large: 'package', unsupported_media_type: 'package' };

export default function NewVersionPage() {
  const { appId = '' } = useParams();
  const app = useQuery(appQuery(appId));
  const queryClient = useQueryClient();
  const fileInputId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [submitted, setSubmitted] = useState<Submitted | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const cancel = useRef<AbortController | null>(null);

  const upload = <T,>(dryRun: boolean) => {
    if (!file) throw new Error('no file chosen');
    const controller = new AbortController();
    cancel.current = controller;
    setProgress({ loaded: 0, total: file.size });
    return uploadFile<T>({
      url: `/v1/apps/${encodeURIComponent(appId)}/versions${dryRun ? '?dry_run=true' : ''}`,
      file,
      contentType: 'application/octet-stream',
      onProgress: setProgress,
      signal: controller.signal,
    }).finally(() => {
      cancel.current = null;
      setProgress(null);
    });
  };

  const check = useMutation<CheckResult, unknown, void>({
    mutationFn: async () => {
      try {
        return { kind: 'passed', result: await upload<DryRunResult>(true) };
      } catch (error) {
        if (isApiProblem(error) && error.code === 'package_invalid') return { kind: 'failed', findings: findingsOf(error), problem: error };
        throw error;
      }
    },
  });

  const submit = useMutation<Version, unknown, { releaseNotes: string }>({
    mutationFn: async ({ releaseNotes }) => {
      const version = await upload<Version>(false);
      setSubmitted(version);
      void queryClient.invalidateQueries({ queryKey: [VERSIONS_KEY, appId] });
      void queryClient.invalidateQueries({ queryKey: APPS_KEY });
      setAnnouncement('Submitted. The checks are running.');
      // Release notes are text for the store, set beside the package (PATCH), not inside it.
      if (releaseNotes.trim() !== '') {
        return unwrap(api.PATCH('/v1/apps/{app_id}/versions/{version_id}', { params: { path: { app_id: appId, version_id: version.id } }, body: { release_notes: releaseNotes.trim() } }));
      }
      return version;
    },
  });

  const onEvent = useCallback(
    (event: LiveEvent) => {
      if (!submitted || event.data['version_id'] !== submitted.id) return;
      if (event.type === 'version.checked') setAnnouncement(event.data['status'] === 'failed' ? 'The checks failed.' : 'The checks passed: waiting for review.');
      if (event.type === 'version.approved') setAnnouncement('Approved by a reviewer.');
      if (event.type === 'version.rejected') setAnnouncement('Rejected by a reviewer.');
      if (event.type === 'version.published') setAnnouncement('Published.');
    },
    [submitted],
  );
  useAppLiveEvents(onEvent);

  const chooseFile = (event: ChangeEvent<HTMLInputElement>) => {
    setFile(event.currentTarget.files?.[0] ?? null);
    check.reset();
    submit.reset();
  };

  const busy = check.isPending || (submit.isPending && !submitted);
  const checkError = check.error && !isAbort(check.error) ? check.error : null;
  const submitError = submit.error && !isAbort(submit.error) ? submit.error : null;
  const fileProblem = formProblem(checkError ?? (submitted ? null : submitError), ['package'], FILE_CODES);
  const canSubmit = file !== null && !busy && !submitted && (check.data?.kind === 'passed' || (isApiProblem(checkError) && checkError.code === 'checks_busy'));

  return (
    <Page title="Upload a version" description="A signed .mosis package, built with mosis build. It is checked first; nothing is submitted until you say so.">
      <AppSectionNav appId={appId} app={app.data} />
      {app.isError ? <ErrorState error={app.error} onRetry={() => void app.refetch()} /> : null}
      <div className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </div>

      {submitted ? (
        <SubmittedVersion appId={appId} initial={submitted} notesError={submit.error} />
      ) : (
        <section className="card dev-upload-card" aria-labelledby="upload-step-file">
          <h2 id="upload-step-file">1. Choose the package</h2>
          <div className={fileProblem.field('package') ? 'field field-invalid' : 'field'}>
            <label htmlFor={fileInputId}>Package file (.mosis)</label>
            <input
              id={fileInputId}
              type="file"
              accept=".mosis,application/octet-stream,application/zip"
              onChange={chooseFile}
              disabled={busy}
              aria-describedby={`${fileInputId}-hint${fileProblem.field('package') ? ` ${fileInputId}-error` : ''}`}
              aria-invalid={fileProblem.field('package') ? true : undefined}
            />
            <p className="field-hint" id={`${fileInputId}-hint`}>
              Its manifest&apos;s <code>id</code> must be {app.data ? <code>{app.data.package_id}</code> : 'this app’s package id'}, its <code>version_code</code> higher than
              every earlier version&apos;s, and it must be signed with one of your <Link to="/settings/signing-keys">signing keys</Link>.
            </p>
            {fileProblem.field('package') ? (
              <p className="field-error" id={`${fileInputId}-error`}>
                {fileProblem.field('package')}
              </p>
            ) : null}
          </div>
          {file ? (
            <p className="muted small">
              {file.name}, {formatBytes(file.size)}
            </p>
          ) : null}
          {progress ? (
            <div className="dev-upload-progress-row">
              <UploadProgressBar label={check.isPending ? 'Uploading for the check' : 'Uploading'} progress={progress} after={check.isPending ? 'Checking the package…' : 'Storing the package…'} />
              <button type="button" className="button button-small" onClick={() => cancel.current?.abort()}>
                Cancel upload
              </button>
            </div>
          ) : null}
          <div className="dev-form-actions">
            <button type="button" className={check.data ? 'button' : 'button button-primary'} disabled={!file || busy} onClick={() => check.mutate()} aria-busy={check.isPending || undefined}>
              {check.isPending ? 'Checking…' : check.data ? 'Check again' : 'Check the package'}
            </button>
          </div>
          {checkError && !fileProblem.field('package') ? <FormError problem={formProblem(checkError, [])} /> : null}
          {checkError && isApiProblem(checkError) && checkError.code === 'checks_busy' ? (
            <p className="muted">The portal is busy checking other packages. You can submit anyway: the checks then run as soon as a thread is free.</p>
          ) : null}

          {check.data ? <CheckReport result={check.data} /> : null}

          {check.data?.kind === 'passed' || canSubmit ? (
            <SubmitStep busy={submit.isPending} disabled={!canSubmit} error={submitError && !fileProblem.field('package') ? submitError : null} onSubmit={(releaseNotes) => submit.mutate({ releaseNotes })} />
          ) : null}
        </section>
      )}
    </Page>
  );
}

function CheckReport({ result }: { result: CheckResult }) {
  if (result.kind === 'failed') {
    return (
      <section className="dev-check-report dev-check-report-failed" aria-labelledby="check-report">
        <h2 id="check-report">The package failed its checks</h2>
        <p>Fix what the errors below say, build and sign the package again, and choose the new file. Nothing was stored.</p>
        <PackageFindings findings={result.findings} />
      </section>
    );
  }
  const { result: dryRun } = result;
  return (
    <section className="dev-check-report dev-check-report-passed" aria-labelledby="check-report">
      <h2 id="check-report">The package passed its checks</h2>
      <dl className="dev-facts">
        <div>
          <dt>Version</dt>
          <dd>
            {dryRun.version} <span className="muted">(code {dryRun.version_code})</span>
          </dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(dryRun.size)}</dd>
        </div>
        <div>
          <dt>Permissions</dt>
          <dd>
            {dryRun.permissions.length > 0 ? (
              <ul className="dev-inline-list">
                {dryRun.permissions.map((permission) => (
                  <li key={permission}>
                    <code>{permission}</code>
                  </li>
                ))}
              </ul>
            ) : (
              'None'
            )}
          </dd>
        </div>
      </dl>
      <PackageFindings findings={dryRun.checks} emptyText="No warnings: every check passed cleanly." />
    </section>
  );
}

function SubmitStep({ busy, disabled, error, onSubmit }: { busy: boolean; disabled: boolean; error: unknown; onSubmit: (releaseNotes: string) => void }) {
  const problem = formProblem(error, ['release_notes']);
  return (
    <form
      className="form dev-submit-step"
      noValidate
      aria-labelledby="upload-step-submit"
      onSubmit={(event) => {
        event.preventDefault();
        const notes = new FormData(event.currentTarget).get('release_notes');
        onSubmit(typeof notes === 'string' ? notes : '');
      }}
    >
      <h2 id="upload-step-submit">2. Submit for review</h2>
      <FormError problem={problem} />
      <TextAreaField label="Release notes" name="release_notes" maxLength={4000} rows={4} hint="Optional: what changed, for the store. You can edit them later." error={problem.field('release_notes')} />
      <div className="dev-form-actions">
        <button type="submit" className="button button-primary" disabled={disabled || busy} aria-busy={busy || undefined}>
          {busy ? 'Submitting…' : 'Submit for review'}
        </button>
      </div>
    </form>
  );
}

const STEPS = [
  { key: 'uploaded', label: 'Uploaded' },
  { key: 'checked', label: 'Checks' },
  { key: 'review', label: 'Review' },
  { key: 'decided', label: 'Decision' },
] as const;

function stepOf(version: Version): number {
  switch (version.status) {
    case 'processing':
      return 1;
    case 'failed':
    case 'pending_review':
      return 2;
    default:
      return 3;
  }
}

/** After submitting: the version's status as the live events move it, and where to go next. */
function SubmittedVersion({ appId, initial, notesError }: { appId: string; initial: Version; notesError: unknown }) {
  const version = useQuery({ ...versionQuery(appId, initial.id), initialData: initial, staleTime: 0 });
  const current = version.data;
  const step = stepOf(current);
  const failed = current.status === 'failed' || current.status === 'rejected';
  return (
    <section className="card" aria-labelledby="submitted-heading">
      <h2 id="submitted-heading">Submitted</h2>
      <ol className="dev-stepper">
        {STEPS.map((s, index) => (
          <li key={s.key} className={index < step ? 'dev-step dev-step-done' : index === step ? `dev-step dev-step-current${failed ? ' dev-step-failed' : ''}` : 'dev-step'} aria-current={index === step ? 'step' : undefined}>
            {s.label}
          </li>
        ))}
      </ol>
      <p className="dev-submitted-status">
        Status: <StatusBadge status={current.status} />
      </p>
      <p className="muted">{explainStatus(current)}</p>
      {current.status === 'failed' ? <PackageFindings findings={current.checks} /> : null}
      {notesError ? <FormError problem={formProblem(notesError, [])} /> : null}
      {version.isError ? <ErrorState error={version.error} onRetry={() => void version.refetch()} /> : null}
      <p className="dev-form-actions">
        <Link to={`/apps/${appId}/versions/${current.id}`} className="button button-primary">
          Open the version
        </Link>
        <Link to={`/apps/${appId}/versions`} className="button">
          All versions
        </Link>
      </p>
    </section>
  );
}

function explainStatus(version: Version): string {
  switch (version.status) {
    case 'processing':
      return 'The portal is running every check on the package. This page updates by itself.';
    case 'pending_review':
      return 'The checks passed. A reviewer looks at it next; you get a notification and a mail when they decide. This page updates by itself.';
    case 'failed':
      return 'The package failed a blocking check. Fix it, build it again and upload the new file.';
    case 'approved':
      return 'Approved. Open the version to publish it, to a share of devices first if you like.';
    case 'rejected':
      return version.review?.notes ? `Rejected. The reviewer wrote: ${version.review.notes}` : 'Rejected by a reviewer.';
    case 'published':
      return 'Published: it is in the store.';
    case 'yanked':
      return 'Withdrawn from the store.';
  }
}
