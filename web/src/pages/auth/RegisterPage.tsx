/** Create an account: POST /v1/auth/register, then "check your mail" (the account starts no session). */
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Page } from '../../components/Page';

export default function RegisterPage() {
  const [sentTo, setSentTo] = useState<string | null>(null);
  const register = useMutation({
    mutationFn: (body: { email: string; password: string; name: string }) => unwrap(api.POST('/v1/auth/register', { body })),
    onSuccess: (_answer, body) => setSentTo(body.email),
  });

  if (sentTo !== null) {
    return (
      <Page title="Check your mail" narrow>
        <div className="card" role="status">
          <p>
            We sent a link to <strong>{sentTo}</strong>. Open it to confirm your address, then sign in.
          </p>
          <p className="muted">No mail after a few minutes? Look in your spam folder, or sign in and send it again.</p>
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
    register.mutate(formValues(event.currentTarget, ['name', 'email', 'password']));
  };
  const problem = formProblem(register.error, ['name', 'email', 'password'], { password_policy: 'password', password_too_common: 'password' });
  return (
    <Page title="Create your account" narrow description="A developer account: create apps, upload versions and follow their reviews.">
      <form className="form card" onSubmit={submit} noValidate>
        <FormError problem={problem} />
        <Field label="Name" name="name" autoComplete="name" required maxLength={100} autoFocus error={problem.field('name')} />
        <Field label="Email" name="email" type="email" autoComplete="email" required maxLength={254} error={problem.field('email')} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required hint="At least 12 characters; a long passphrase is best." error={problem.field('password')} />
        <SubmitButton busy={register.isPending} busyLabel="Creating your account…">
          Create account
        </SubmitButton>
        <p className="form-links">
          <span>
            Have an account? <Link to="/sign-in">Sign in</Link>
          </span>
        </p>
      </form>
    </Page>
  );
}
