import { useMutation } from '@tanstack/react-query';
import { useLocation } from 'react-router';
import { api, unwrap } from '../api/client';
import { isApiProblem } from '../api/problem';
import { useSession } from '../session/session';

/** Until the address is confirmed, every page says so and offers the mail again. */
export function VerifyEmailBanner() {
  const session = useSession();
  const location = useLocation();
  const resend = useMutation({ mutationFn: () => unwrap(api.POST('/v1/auth/verify-email/resend')) });
  if (session.status !== 'signed-in' || session.user.email_verified || location.pathname === '/verify-email') return null;
  return (
    <div className="banner" role="region" aria-label="Email address not confirmed">
      <p>
        Confirm <strong>{session.user.email}</strong>: open the link we mailed you.
      </p>
      {resend.isSuccess ? (
        <p role="status">Sent. Check your inbox.</p>
      ) : (
        <button type="button" className="button button-small" onClick={() => resend.mutate()} disabled={resend.isPending}>
          {resend.isPending ? 'Sending…' : 'Send the mail again'}
        </button>
      )}
      {resend.isError ? <p role="alert" className="field-error">{isApiProblem(resend.error) ? resend.error.detail : 'The mail could not be sent.'}</p> : null}
    </div>
  );
}
