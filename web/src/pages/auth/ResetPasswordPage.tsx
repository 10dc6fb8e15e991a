/**
 * /reset-password?token=… (the link in the reset mail): a new password, twice. Setting it ends
 * every session and API key of the account, so the page then sends to sign-in.
 */
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Page } from '../../components/Page';
import { useSessionActions } from '../../session/session';

export default function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const actions = useSessionActions();
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation({
    mutationFn: (body: { token: string; password: string }) => unwrap(api.POST('/v1/auth/password/reset', { body })),
    onSuccess: () => actions.signedOut(),
  });

  if (!token) {
    return (
      <Page title="Choose a new password" narrow>
        <p>This page needs the link from the password-reset mail.</p>
        <p>
          <Link to="/forgot-password">Have a new link sent</Link>
        </p>
      </Page>
    );
  }
  if (reset.isSuccess) {
    return (
      <Page title="Password set" narrow>
        <div className="card" role="status">
          <p>Your new password is set. Every session and API key of your account has ended: sign in again, and make new API keys where you need them.</p>
          <p>
            <Link to="/sign-in" className="button button-primary">
              Sign in
            </Link>
          </p>
        </div>
      </Page>
    );
  }
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const { password, confirm } = formValues(event.currentTarget, ['password', 'confirm']);
    setMismatch(password !== confirm);
    if (password === confirm) reset.mutate({ token, password });
  };
  const problem = formProblem(reset.error, ['password'], { password_policy: 'password', password_too_common: 'password' });
  return (
    <Page title="Choose a new password" narrow>
      <form className="form card" onSubmit={submit} noValidate>
        <FormError problem={problem} />
        {problem.general?.code === 'invalid_token' ? (
          <p>
            <Link to="/forgot-password">Have a new link sent</Link>
          </p>
        ) : null}
        <Field label="New password" name="password" type="password" autoComplete="new-password" required autoFocus hint="At least 12 characters." error={problem.field('password')} />
        <Field label="New password again" name="confirm" type="password" autoComplete="new-password" required error={mismatch ? 'The two passwords differ.' : undefined} />
        <SubmitButton busy={reset.isPending} busyLabel="Setting…">
          Set the password
        </SubmitButton>
      </form>
    </Page>
  );
}
