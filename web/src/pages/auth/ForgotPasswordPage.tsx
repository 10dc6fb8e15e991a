/** Ask for a password-reset mail: the API answers the same whether or not the address has an account. */
import { useMutation } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Page } from '../../components/Page';

export default function ForgotPasswordPage() {
  const forgot = useMutation({ mutationFn: (body: { email: string }) => unwrap(api.POST('/v1/auth/password/forgot', { body })) });
  if (forgot.isSuccess) {
    return (
      <Page title="Check your mail" narrow>
        <div className="card" role="status">
          <p>
            If <strong>{forgot.variables.email}</strong> has an account here, a link to choose a new password is on its way. It works for an hour.
          </p>
          <p>
            <Link to="/sign-in">Back to sign in</Link>
          </p>
        </div>
      </Page>
    );
  }
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    forgot.mutate(formValues(event.currentTarget, ['email']));
  };
  const problem = formProblem(forgot.error, ['email']);
  return (
    <Page title="Forgot your password?" narrow description="We will mail you a link to choose a new one.">
      <form className="form card" onSubmit={submit} noValidate>
        <FormError problem={problem} />
        <Field label="Email" name="email" type="email" autoComplete="email" required autoFocus error={problem.field('email')} />
        <SubmitButton busy={forgot.isPending} busyLabel="Sending…">
          Send the link
        </SubmitButton>
        <p className="form-links">
          <Link to="/sign-in">Back to sign in</Link>
        </p>
      </form>
    </Page>
  );
}
