/** /sign-out: ends this browser's session (POST /v1/auth/logout, with the CSRF token) and forgets everything cached. */
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { useSession, useSessionActions } from '../../session/session';

export default function SignOutPage() {
  const session = useSession();
  const actions = useSessionActions();
  const logout = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/auth/logout')),
    onSettled: (_data, error) => {
      // Already signed out (expired, revoked elsewhere) is as good as signed out now.
      if (!error || (isApiProblem(error) && error.status === 401)) actions.signedOut();
    },
  });
  const started = useRef(false);
  useEffect(() => {
    if (session.status === 'signed-in' && !started.current) {
      started.current = true;
      logout.mutate();
    }
  }, [session.status, logout]);

  if (session.status === 'loading' || logout.isPending || (session.status === 'signed-in' && logout.isIdle)) {
    return (
      <Page title="Signing out" narrow>
        <Loading label="Signing out" />
      </Page>
    );
  }
  if (logout.isError && !(isApiProblem(logout.error) && logout.error.status === 401)) {
    return (
      <Page title="Signing out" narrow>
        <ErrorState error={logout.error} onRetry={() => logout.mutate()} />
      </Page>
    );
  }
  return (
    <Page title="Signed out" narrow>
      <div className="card" role="status">
        <p>You are signed out of Mosis Portal on this browser.</p>
        <p>
          <Link to="/sign-in" className="button button-primary">
            Sign in again
          </Link>
        </p>
      </div>
    </Page>
  );
}
