/**
 * Changing the password (POST /v1/auth/password/change): the current one and the new one, twice.
 * The API's rules (length, common passwords) come back as field errors under the new password, a
 * wrong current password under that field. The change signs out every session, this one too: the
 * form then says so and leads to the sign-in page.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Loading } from '../../components/states';
import { signInPath } from '../../session/guards';
import { useSessionActions } from '../../session/session';
import { TWO_FACTOR_KEY } from './keys';

const FIELDS = ['current_password', 'new_password'] as const;

export function ChangePasswordForm() {
  const actions = useSessionActions();
  const navigate = useNavigate();
  const [mismatch, setMismatch] = useState(false);
  // Whether the account has a password at all (one made through a provider may not).
  const status = useQuery({ queryKey: TWO_FACTOR_KEY, queryFn: ({ signal }) => unwrap(api.GET('/v1/auth/2fa', { signal })) });
  const change = useMutation({ mutationFn: (body: { current_password: string; new_password: string }) => unwrap(api.POST('/v1/auth/password/change', { body })) });
  const problem = formProblem(change.error, FIELDS, { invalid_credentials: 'current_password' });

  if (status.isPending) return <Loading label="Loading" />;
  if (status.data && !status.data.password_required) {
    return (
      <p>
        Your account signs in through a provider and has no password. To add one, use <Link to="/forgot-password">Forgot your password?</Link>: the mailed link sets it.
      </p>
    );
  }

  if (change.isSuccess) {
    return (
      <div className="stack" role="status">
        <p className="banner sa-banner-success">
          <strong>Password changed.</strong> Every session of your account has been signed out, this one too. Your API keys still work.
        </p>
        <p>
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              actions.signedOut();
              void navigate(signInPath('/settings/security'), { replace: true });
            }}
          >
            Sign in with the new password
          </button>
        </p>
      </div>
    );
  }

  return (
    <form
      className="form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const values = formValues(event.currentTarget, [...FIELDS, 'new_password_again']);
        const differ = values.new_password !== values.new_password_again;
        setMismatch(differ);
        if (differ) return;
        change.mutate({ current_password: values.current_password, new_password: values.new_password });
      }}
    >
      <FormError problem={problem} />
      <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required error={problem.field('current_password')} />
      <Field
        label="New password"
        name="new_password"
        type="password"
        autoComplete="new-password"
        required
        hint="12 to 256 characters, and not one of the commonly used passwords. A few unrelated words make a good one."
        error={problem.field('new_password')}
      />
      <Field label="New password again" name="new_password_again" type="password" autoComplete="new-password" required error={mismatch ? 'The two new passwords differ.' : undefined} />
      <p className="muted small">Changing it signs you out everywhere, here too; your API keys keep working.</p>
      <div>
        <SubmitButton busy={change.isPending} busyLabel="Changing…">
          Change password
        </SubmitButton>
      </div>
    </form>
  );
}
