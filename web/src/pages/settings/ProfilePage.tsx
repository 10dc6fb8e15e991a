/**
 * /settings: the account itself. The name it goes by (PATCH /v1/auth/me), the email address it
 * signs in with and whether that is verified (with a way to send the link again), its role and
 * how long it has existed. The address is shown, not edited: the API has no way to change it.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Page } from '../../components/Page';
import { Time } from '../../components/Time';
import { SESSION_KEY, useUser } from '../../session/session';
import { SettingsNav } from './SettingsNav';

const ROLE_TEXT = {
  developer: 'Developer: you publish apps.',
  reviewer: 'Reviewer: you review versions before they reach the store.',
  admin: 'Admin: you manage users and the portal.',
} as const;

export default function ProfilePage() {
  const user = useUser();
  const queryClient = useQueryClient();
  const [saved, setSaved] = useState(false);

  const save = useMutation({
    mutationFn: (body: { name: string }) => unwrap(api.PATCH('/v1/auth/me', { body })),
    onSuccess: (updated) => {
      // The header shows the name: the session's copy of the user is the one to replace.
      queryClient.setQueryData(SESSION_KEY, updated);
      setSaved(true);
    },
  });
  const problem = formProblem(save.error, ['name']);

  return (
    <Page title="Settings" description="Your account on this portal.">
      <div className="sa-layout">
        <SettingsNav />
        <div className="sa-main stack">
          <section className="card" aria-labelledby="profile-heading">
            <h2 id="profile-heading">Profile</h2>
            <form
              className="form"
              noValidate
              onSubmit={(event) => {
                event.preventDefault();
                setSaved(false);
                save.mutate(formValues(event.currentTarget, ['name']));
              }}
            >
              <FormError problem={problem} />
              <Field
                label="Name"
                name="name"
                autoComplete="name"
                defaultValue={user.name}
                required
                maxLength={100}
                hint="Shown to reviewers and admins, and used in the mails the portal sends you."
                error={problem.field('name')}
                onChange={() => setSaved(false)}
              />
              <div className="sa-form-actions">
                <SubmitButton busy={save.isPending} busyLabel="Saving…">
                  Save name
                </SubmitButton>
                <span role="status" className="sa-saved">
                  {saved ? 'Saved.' : ''}
                </span>
              </div>
            </form>
          </section>

          <section className="card" aria-labelledby="email-heading">
            <h2 id="email-heading">Email address</h2>
            <p className="sa-email">
              <strong>{user.email}</strong>{' '}
              {user.email_verified ? <span className="badge badge-success">Verified</span> : <span className="badge badge-warning">Not verified</span>}
            </p>
            <p className="muted">You sign in with this address, and the portal's mails go to it.</p>
            {user.email_verified ? null : <p>Open the link in the mail we sent you to confirm it; the banner at the top of the page sends it again.</p>}
          </section>

          <section className="card" aria-labelledby="account-heading">
            <h2 id="account-heading">Account</h2>
            <dl className="sa-facts">
              <dt>Role</dt>
              <dd>{ROLE_TEXT[user.role]}</dd>
              <dt>Two-factor authentication</dt>
              <dd>
                {user.totp_enabled ? 'On' : 'Off'} · <Link to="/settings/security">Password and security</Link>
              </dd>
              <dt>Member since</dt>
              <dd>
                <Time value={user.created_at} absolute />
              </dd>
            </dl>
          </section>
        </div>
      </div>
    </Page>
  );
}
