/**
 * Sign in: email and password (POST /v1/auth/session sets the session cookie), then, when the
 * account has two-factor authentication (the API answers totp_required), a second step asking for
 * the authenticator's code or a recovery code, sent with the same email and password as
 * `totp_code`. Providers the portal has set up (GET /v1/auth/oauth/providers) get a button each.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem, isApiProblem } from '../../api/problem';
import type { OAuthProvider } from '../../api/types';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Page } from '../../components/Page';
import { Loading } from '../../components/states';
import { safeReturnTo } from '../../session/guards';
import { useSession, useSessionActions } from '../../session/session';

const PROVIDER_NAMES: Record<OAuthProvider, string> = { github: 'GitHub', google: 'Google', oidc: 'single sign-on' };

interface Credentials {
  email: string;
  password: string;
  totp_code?: string;
}

export default function SignInPage() {
  const [params] = useSearchParams();
  const returnTo = safeReturnTo(params.get('return_to'));
  const session = useSession();
  const actions = useSessionActions();
  const navigate = useNavigate();
  // Kept after the first step: the second sends them again with the code.
  const [credentials, setCredentials] = useState<Credentials | null>(null);
  const [step, setStep] = useState<'password' | 'code'>('password');
  const [useRecovery, setUseRecovery] = useState(false);

  const signIn = useMutation({
    mutationFn: (body: Credentials) => unwrap(api.POST('/v1/auth/session', { body })),
    onSuccess: (answer) => {
      actions.signedIn(answer.user);
      void navigate(returnTo, { replace: true });
    },
    onError: (err) => {
      if (isApiProblem(err) && err.code === 'totp_required') setStep('code');
    },
  });

  if (session.status === 'loading') return <Loading label="Checking your session" />;
  if (session.status === 'signed-in' && !signIn.isSuccess) return <Navigate to={returnTo} replace />;

  const submitPassword = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const entered = formValues(event.currentTarget, ['email', 'password']);
    setCredentials(entered);
    signIn.mutate(entered);
  };
  const submitCode = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!credentials) return setStep('password');
    const code = formValues(event.currentTarget, ['totp_code']).totp_code.replace(/\s+/g, '');
    signIn.mutate({ ...credentials, totp_code: code });
  };

  // totp_required is the cue for step two, not an error to show.
  const error = isApiProblem(signIn.error) && signIn.error.code === 'totp_required' ? null : signIn.error;

  if (step === 'code') {
    const problem = formProblem(error, ['totp_code'], { invalid_totp_code: 'totp_code' });
    return (
      <Page title="Two-factor code" narrow description="Your account has two-factor authentication.">
        <form className="form card" onSubmit={submitCode} noValidate>
          <FormError problem={problem} />
          {useRecovery ? (
            <Field key="recovery" label="Recovery code" name="totp_code" autoComplete="off" autoCapitalize="none" spellCheck={false} required autoFocus hint="One of the ten codes you saved when you turned two-factor authentication on. Each works once." error={problem.field('totp_code')} />
          ) : (
            <Field key="totp" label="Code from your authenticator app" name="totp_code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={8} required autoFocus error={problem.field('totp_code')} />
          )}
          <SubmitButton busy={signIn.isPending} busyLabel="Signing in…">
            Sign in
          </SubmitButton>
          <p className="form-links">
            <button type="button" className="link-button" onClick={() => setUseRecovery((r) => !r)}>
              {useRecovery ? 'Use a code from your authenticator app' : 'Use a recovery code instead'}
            </button>
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setCredentials(null);
                signIn.reset();
                setStep('password');
              }}
            >
              Start again
            </button>
          </p>
        </form>
      </Page>
    );
  }

  const problem = formProblem(error, ['email', 'password']);
  return (
    <Page title="Sign in" narrow description="to publish and manage your Mosis apps.">
      <div className="card">
        <form className="form" onSubmit={submitPassword} noValidate>
          <FormError problem={problem} />
          <Field label="Email" name="email" type="email" autoComplete="username" required autoFocus defaultValue={credentials?.email} error={problem.field('email')} />
          <Field label="Password" name="password" type="password" autoComplete="current-password" required error={problem.field('password')} />
          <SubmitButton busy={signIn.isPending} busyLabel="Signing in…">
            Sign in
          </SubmitButton>
          <p className="form-links">
            <Link to="/forgot-password">Forgot your password?</Link>
            <Link to="/register">Create an account</Link>
          </p>
        </form>
        <ProviderButtons returnTo={returnTo} />
      </div>
    </Page>
  );
}

function ProviderButtons({ returnTo }: { returnTo: string }) {
  const providers = useQuery({
    queryKey: ['/v1/auth/oauth/providers'],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/auth/oauth/providers', { signal })),
    staleTime: Infinity,
  });
  const names = providers.data?.providers ?? [];
  // Not set up, or not known (the buttons are extra): the password form stands alone.
  if (names.length === 0) return null;
  return (
    <div className="providers">
      <p className="divider">
        <span>or</span>
      </p>
      <ul>
        {names.map((provider) => (
          <li key={provider}>
            {/* A full page load: the API redirects to the provider, which comes back with the session cookie. */}
            <a className="button button-wide" href={`/v1/auth/oauth/${provider}/start?return_to=${encodeURIComponent(returnTo)}`}>
              Sign in with {PROVIDER_NAMES[provider]}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
