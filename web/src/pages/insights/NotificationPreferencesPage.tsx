/**
 * /settings/notifications (every notification mail links here): which kinds of notification also
 * come by email (GET/PUT /v1/notifications/preferences). In-app notifications are always made;
 * account mail (verification, password reset) is always sent. The review queue digest is offered
 * to reviewers and admins only.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { FormError, SubmitButton } from '../../components/form';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { hasRole, useUser } from '../../session/session';
import { SettingsNav } from '../settings/SettingsNav';
import type { EmailPreferences, NotificationKind } from './types';

const PREFERENCES_KEY = ['/v1/notifications/preferences'] as const;

/** Each kind as a sentence (the API's kinds: one it adds fails the type check here until described). */
const KINDS: Record<NotificationKind, { label: string; staff?: true }> = {
  version_failed: { label: 'A version of my app failed its automated checks' },
  version_approved: { label: 'A version of my app was approved' },
  version_rejected: { label: 'A version of my app was rejected' },
  version_published: { label: 'A version of my app was published' },
  version_halted: { label: 'The crash guard halted a rollout of my app' },
  version_yanked: { label: 'A version of my app was yanked from the store' },
  webhook_disabled: { label: 'A webhook of my app was turned off after failing' },
  review_queue: { label: 'Versions wait in the review queue (a digest)', staff: true },
};

export default function NotificationPreferencesPage() {
  const user = useUser();
  const queryClient = useQueryClient();
  const preferences = useQuery({
    queryKey: PREFERENCES_KEY,
    queryFn: ({ signal }) => unwrap(api.GET('/v1/notifications/preferences', { signal })),
  });
  const [saved, setSaved] = useState('');
  const save = useMutation({
    mutationFn: (email: Partial<EmailPreferences>) => unwrap(api.PUT('/v1/notifications/preferences', { body: { email } })),
    onSuccess: (answer) => {
      queryClient.setQueryData(PREFERENCES_KEY, answer);
      setSaved(`Saved at ${new Date().toLocaleTimeString()}.`);
    },
    onMutate: () => setSaved(''),
  });

  const kinds = (Object.keys(KINDS) as NotificationKind[]).filter((kind) => !KINDS[kind].staff || hasRole(user, ['reviewer', 'admin']));
  const problem = formProblem(save.error, kinds.map((kind) => `email.${kind}`));

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    save.mutate(Object.fromEntries(kinds.map((kind) => [kind, data.get(kind) === 'on'])));
  };
  const setAll = (form: HTMLFormElement | null, on: boolean) => {
    if (!form) return;
    for (const kind of kinds) {
      const box = form.elements.namedItem(kind);
      if (box instanceof HTMLInputElement) box.checked = on;
    }
  };

  return (
    <Page title="Email notifications" description={<>Which notifications also come by email to {user.email}.</>}>
      <div className="settings-layout">
        <SettingsNav />
        <div className="settings-main stack">
          {preferences.isPending ? (
            <Loading label="Loading your email settings" />
          ) : preferences.isError ? (
            <ErrorState error={preferences.error} onRetry={() => void preferences.refetch()} />
          ) : (
            <form className="form card" onSubmit={submit} noValidate key={JSON.stringify(preferences.data.email)}>
              <FormError problem={problem} />
              <fieldset className="field ins-fieldset">
                <legend>Email me when…</legend>
                <p className="field-hint">
                  Every one of these also shows in <Link to="/notifications">your notifications</Link> in the portal. Mail about your account (confirming your address,
                  resetting your password) is always sent.
                </p>
                <ul className="ins-check-list">
                  {kinds.map((kind) => (
                    <li key={kind}>
                      <label className="ins-check">
                        <input type="checkbox" name={kind} defaultChecked={preferences.data.email[kind]} />
                        <span>{KINDS[kind].label}</span>
                      </label>
                      {problem.field(`email.${kind}`) ? <p className="field-error">{problem.field(`email.${kind}`)}</p> : null}
                    </li>
                  ))}
                </ul>
                <p className="ins-actions">
                  <button type="button" className="link-button" onClick={(event) => setAll(event.currentTarget.form, true)}>
                    Choose all
                  </button>
                  <button type="button" className="link-button" onClick={(event) => setAll(event.currentTarget.form, false)}>
                    Choose none
                  </button>
                </p>
              </fieldset>
              <div className="ins-actions">
                <SubmitButton busy={save.isPending} busyLabel="Saving…">
                  Save
                </SubmitButton>
                <p className="muted small" role="status">
                  {saved}
                </p>
              </div>
            </form>
          )}
        </div>
      </div>
    </Page>
  );
}
