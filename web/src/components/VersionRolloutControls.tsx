/**
 * A version's release controls, each behind a confirmation that shows the API's refusal in place:
 * publish an approved version on a channel at a rollout percentage (POST …/publish), raise or
 * lower a live rollout, halt and resume it (PATCH …/rollout), and yank a published version
 * (POST …/yank). What the version's status does not allow is disabled, with the reason beside it.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type ReactNode } from 'react';
import { api, unwrap } from '../api/client';
import { formProblem } from '../api/problem';
import type { Channel, Version } from '../api/types';
import { isLive } from './appAttention';
import { APP_KEY, APPS_KEY, VERSION_HISTORY_KEY, VERSION_KEY, VERSIONS_KEY } from './appQueries';
import { ConfirmDialog } from './Dialog';
import { Field, FormError, TextAreaField } from './form';
import { Time } from './Time';

type Action = 'publish' | 'rollout' | 'halt' | 'resume' | 'yank';

/** Why publishing is not possible yet, by status (null: it is). */
function publishBlocked(version: Version): string | null {
  switch (version.status) {
    case 'processing':
      return 'The checks are still running. Publishing opens once a reviewer approves the version.';
    case 'failed':
      return 'The package failed its checks, so it cannot be published. Upload a fixed package.';
    case 'pending_review':
      return 'Waiting for a reviewer. Publishing opens once they approve it.';
    case 'rejected':
      return 'A reviewer rejected this version, so it cannot be published. Upload a fixed package.';
    case 'yanked':
      return 'This version was withdrawn from the store; it cannot be published again.';
    default:
      return null;
  }
}

function useRelease(version: Version) {
  const queryClient = useQueryClient();
  const appId = version.app_id;
  const path = { app_id: appId, version_id: version.id };
  const settle = (updated: Version) => {
    queryClient.setQueryData([VERSION_KEY, appId, version.id], updated);
    // Another version may have been superseded or restored, and the app's status follows.
    void queryClient.invalidateQueries({ queryKey: [VERSIONS_KEY, appId] });
    void queryClient.invalidateQueries({ queryKey: [VERSION_HISTORY_KEY, appId] });
    void queryClient.invalidateQueries({ queryKey: [APP_KEY, appId] });
    void queryClient.invalidateQueries({ queryKey: APPS_KEY });
  };
  return {
    publish: useMutation({
      mutationFn: (body: { channel: Channel; rollout_percent: number }) => unwrap(api.POST('/v1/apps/{app_id}/versions/{version_id}/publish', { params: { path }, body })),
      onSuccess: settle,
    }),
    rollout: useMutation({
      mutationFn: (body: { rollout_percent: number } | { halted: boolean; reason?: string }) => unwrap(api.PATCH('/v1/apps/{app_id}/versions/{version_id}/rollout', { params: { path }, body })),
      onSuccess: settle,
    }),
    yank: useMutation({
      mutationFn: (body: { reason: string }) => unwrap(api.POST('/v1/apps/{app_id}/versions/{version_id}/yank', { params: { path }, body })),
      onSuccess: settle,
    }),
  };
}

export function VersionRolloutControls({ version }: { version: Version }) {
  const release = useRelease(version);
  const [open, setOpen] = useState<Action | null>(null);
  const [channel, setChannel] = useState<Channel>('stable');
  const [publishPercent, setPublishPercent] = useState('10');
  const [rolloutPercent, setRolloutPercent] = useState(String(version.rollout_percent ?? 100));
  const [haltReason, setHaltReason] = useState('');
  const [yankReason, setYankReason] = useState('');
  const ids = useId();

  const live = isLive(version);
  const halted = version.rollout?.halted === true;
  const blocked = publishBlocked(version);
  const current = version.rollout_percent ?? 0;
  const wanted = Number(rolloutPercent);
  const wantedValid = Number.isInteger(wanted) && wanted >= 1 && wanted <= 100;
  const publishWanted = Number(publishPercent);

  const close = () => {
    setOpen(null);
    release.publish.reset();
    release.rollout.reset();
    release.yank.reset();
  };
  const done = { onSuccess: () => setOpen(null) };

  return (
    <section className="card dev-rollout" aria-labelledby={`${ids}-heading`}>
      <h2 id={`${ids}-heading`}>Release</h2>

      {version.status === 'approved' ? (
        <form
          className="form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            setOpen('publish');
          }}
        >
          <fieldset className="dev-fieldset">
            <legend>Channel</legend>
            <div className="dev-radio-row">
              {(['stable', 'beta'] as const).map((c) => (
                <label key={c} className="dev-radio">
                  <input type="radio" name="channel" value={c} checked={channel === c} onChange={() => setChannel(c)} />
                  {c === 'stable' ? 'Stable: every device' : 'Beta: devices that opted into beta versions'}
                </label>
              ))}
            </div>
          </fieldset>
          <Field
            label="Rollout (% of devices)"
            name="rollout_percent"
            type="number"
            inputMode="numeric"
            min={1}
            max={100}
            step={1}
            value={publishPercent}
            onChange={(event) => setPublishPercent(event.currentTarget.value)}
            hint="Start small and raise it while the crash-free rate holds. Each device is placed by a stable hash, so raising only adds devices."
          />
          <div className="dev-form-actions">
            <button type="submit" className="button button-primary">
              Publish
            </button>
          </div>
        </form>
      ) : live ? (
        <div className="dev-rollout-live">
          <p>
            Live on <strong>{version.channel}</strong> to <strong>{current} %</strong> of devices
            {version.published_at ? (
              <>
                , published <Time value={version.published_at} />
              </>
            ) : null}
            .
          </p>
          <progress className="dev-rollout-meter" max={100} value={current} aria-label="Share of devices offered this version" />
          {halted ? (
            <div className="banner dev-banner-warning" role="note">
              <p>
                <strong>Rollout halted</strong>
                {version.rollout?.halted_at ? (
                  <>
                    {' '}
                    <Time value={version.rollout.halted_at} />
                  </>
                ) : null}
                {version.rollout?.halt_reason ? `: ${version.rollout.halt_reason}` : ''}. Devices that have it keep it; no new device gets it until you resume.
              </p>
            </div>
          ) : null}
          <form
            className="dev-rollout-change"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              if (wantedValid && wanted !== current) setOpen('rollout');
            }}
          >
            <Field
              label="Roll out to (% of devices)"
              name="rollout_percent"
              type="number"
              inputMode="numeric"
              min={1}
              max={100}
              step={1}
              value={rolloutPercent}
              onChange={(event) => setRolloutPercent(event.currentTarget.value)}
              hint={wantedValid ? undefined : 'A whole number from 1 to 100.'}
            />
            <button type="submit" className="button" disabled={!wantedValid || wanted === current}>
              {wantedValid && wanted < current ? 'Lower rollout' : 'Raise rollout'}
            </button>
          </form>
          <div className="dev-form-actions">
            <button type="button" className="button" disabled={halted} onClick={() => setOpen('halt')}>
              Halt rollout
            </button>
            <button type="button" className="button" disabled={!halted} onClick={() => setOpen('resume')}>
              Resume rollout
            </button>
          </div>
        </div>
      ) : version.status === 'published' ? (
        <p>
          Replaced on {version.channel} by a newer version{version.superseded_at ? <> <Time value={version.superseded_at} /></> : null}: devices are offered that one now. Its rollout
          can no longer change.
        </p>
      ) : version.status === 'yanked' ? (
        <p>
          Withdrawn from the store {version.yank ? <Time value={version.yank.yanked_at} /> : null}
          {version.yank?.reason ? `: ${version.yank.reason}` : ''}.
        </p>
      ) : (
        <>
          <p className="muted">{blocked}</p>
          <button type="button" className="button button-primary" disabled>
            Publish
          </button>
        </>
      )}

      {version.status === 'published' ? (
        <div className="dev-rollout-yank">
          <h3>Withdraw</h3>
          <p className="muted small">Yanking takes the version out of the store for good. If it replaced an older version on its channel, devices are offered that one again.</p>
          <button type="button" className="button button-danger" onClick={() => setOpen('yank')}>
            Yank version
          </button>
        </div>
      ) : null}

      <ActionDialog
        open={open === 'publish'}
        title={`Publish ${version.version}?`}
        confirmLabel="Publish"
        busy={release.publish.isPending}
        error={release.publish.error}
        fields={['channel', 'rollout_percent']}
        onConfirm={() => release.publish.mutate({ channel, rollout_percent: publishWanted }, done)}
        onClose={close}
      >
        <p>
          {Number.isFinite(publishWanted) ? `${publishWanted} %` : 'A share'} of devices on the {channel} channel are offered {version.version}. Any version live on {channel} now is
          replaced.
        </p>
      </ActionDialog>

      <ActionDialog
        open={open === 'rollout'}
        title={wanted > current ? `Raise the rollout to ${wanted} %?` : `Lower the rollout to ${wanted} %?`}
        confirmLabel={wanted > current ? 'Raise rollout' : 'Lower rollout'}
        busy={release.rollout.isPending}
        error={release.rollout.error}
        fields={['rollout_percent']}
        onConfirm={() => release.rollout.mutate({ rollout_percent: wanted }, done)}
        onClose={close}
      >
        <p>
          {wanted > current
            ? `${wanted - current} % more devices are offered ${version.version}.`
            : `Devices beyond ${wanted} % are no longer offered ${version.version}; those that installed it keep it.`}
        </p>
      </ActionDialog>

      <ActionDialog
        open={open === 'halt'}
        title="Halt the rollout?"
        confirmLabel="Halt rollout"
        busy={release.rollout.isPending}
        error={release.rollout.error}
        fields={['reason']}
        onConfirm={() => release.rollout.mutate(haltReason.trim() ? { halted: true, reason: haltReason.trim() } : { halted: true }, done)}
        onClose={close}
        renderFields={(problem) => (
          <TextAreaField
            label="Why (optional)"
            name="reason"
            maxLength={1000}
            rows={3}
            value={haltReason}
            onChange={(event) => setHaltReason(event.currentTarget.value)}
            hint="Kept with the version and in the audit log."
            error={problem.field('reason')}
          />
        )}
      >
        <p>No new device is offered {version.version} until you resume. Devices that installed it keep it.</p>
      </ActionDialog>

      <ActionDialog
        open={open === 'resume'}
        title="Resume the rollout?"
        confirmLabel="Resume rollout"
        busy={release.rollout.isPending}
        error={release.rollout.error}
        fields={[]}
        onConfirm={() => release.rollout.mutate({ halted: false }, done)}
        onClose={close}
      >
        <p>
          {version.version} is offered to {current} % of {version.channel} devices again.
        </p>
      </ActionDialog>

      <ActionDialog
        open={open === 'yank'}
        title={`Yank ${version.version}?`}
        confirmLabel="Yank version"
        danger
        busy={release.yank.isPending}
        error={release.yank.error}
        fields={['reason']}
        onConfirm={() => release.yank.mutate({ reason: yankReason.trim() }, done)}
        onClose={close}
        renderFields={(problem) => (
          <TextAreaField
            label="Reason"
            name="reason"
            required
            maxLength={1000}
            rows={3}
            value={yankReason}
            onChange={(event) => setYankReason(event.currentTarget.value)}
            hint="Shown to you and kept in the audit log."
            error={problem.field('reason')}
          />
        )}
      >
        <p>The store stops offering {version.version} for good. This cannot be undone.</p>
      </ActionDialog>
    </section>
  );
}

/** A confirmation with the API's refusal inside it: field messages under their fields, the rest above. */
function ActionDialog({
  open,
  title,
  confirmLabel,
  danger = false,
  busy,
  error,
  fields,
  onConfirm,
  onClose,
  renderFields,
  children,
}: {
  open: boolean;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  busy: boolean;
  error: unknown;
  fields: string[];
  onConfirm: () => void;
  onClose: () => void;
  renderFields?: (problem: ReturnType<typeof formProblem>) => ReactNode;
  children: ReactNode;
}) {
  const problem = formProblem(error, fields);
  return (
    <ConfirmDialog open={open} title={title} confirmLabel={confirmLabel} danger={danger} busy={busy} onConfirm={onConfirm} onClose={onClose}>
      {children}
      <FormError problem={renderFields ? problem : formProblem(error, [])} />
      {renderFields ? renderFields(problem) : null}
    </ConfirmDialog>
  );
}
