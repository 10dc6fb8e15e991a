/**
 * /verify-email?token=… (the link in the verification mail): sends the token once and says how it
 * went. Without a token, or when it failed, a signed-in person can have the mail sent again.
 */
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { useSession, useSessionActions } from '../../session/session';

export default function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get('token');
  const session = useSession();
  const actions = useSessionActions();
  const verify = useMutation({
    mutationFn: (value: string) => unwrap(api.POST('/v1/auth/verify-email', { body: { token: value } })),
    onSuccess: () => void actions.refresh(),
  });
  // Once per token: a token is single-use, and React may run an effect twice in development.
  const sent = useRef<string | null>(null);
  useEffect(() => {
    if (token && sent.current !== token) {
      sent.current = token;
      verify.mutate(token);
    }
  }, [token, verify]);

  const signedIn = session.status === 'signed-in';
  if (token && (verify.isPending || verify.isIdle)) {
    return (
      <Page title="Confirming your address" narrow>
        <Loading label="Confirming your address" />
      </Page>
    );
  }
  if (verify.isSuccess) {
    return (
      <Page title="Address confirmed" narrow>
        <div className="card" role="status">
          <p>
            <strong>{verify.data.email}</strong> is confirmed. Thank you.
          </p>
          <p>
            <Link to={signedIn ? '/apps' : '/sign-in'} className="button button-primary">
              {signedIn ? 'Go to your apps' : 'Sign in'}
            </Link>
          </p>
        </div>
      </Page>
    );
  }
  if (signedIn && session.user.email_verified) {
    return (
      <Page title="Address confirmed" narrow>
        <div className="card">
          <p>
            <strong>{session.user.email}</strong> is confirmed already.
          </p>
          <p>
            <Link to="/apps">Go to your apps</Link>
          </p>
        </div>
      </Page>
    );
  }
  return (
    <Page title="Confirm your address" narrow>
      {verify.isError ? (
        <ErrorState error={verify.error} title={isApiProblem(verify.error) && verify.error.code === 'invalid_token' ? 'This link does not work any more' : undefined} />
      ) : (
        <p>Open the link in the mail we sent you when you registered.</p>
      )}
      {signedIn ? <ResendVerification email={session.user.email} /> : <p><Link to={`/sign-in?return_to=${encodeURIComponent('/verify-email')}`}>Sign in</Link> to have a new link sent.</p>}
    </Page>
  );
}

function ResendVerification({ email }: { email: string }) {
  const resend = useMutation({ mutationFn: () => unwrap(api.POST('/v1/auth/verify-email/resend')) });
  if (resend.isSuccess) return <p role="status">We sent a new link to <strong>{email}</strong>.</p>;
  return (
    <div className="stack">
      <p>We can send a new link to <strong>{email}</strong>.</p>
      <button type="button" className="button button-primary" onClick={() => resend.mutate()} disabled={resend.isPending}>
        {resend.isPending ? 'Sending…' : 'Send a new link'}
      </button>
      {resend.isError ? <ErrorState error={resend.error} /> : null}
    </div>
  );
}
