/**
 * Route guards: wrap a page (or, as a layout route, a group of pages) so that a signed-out visitor
 * goes to /sign-in?return_to=<where they were>, and one without the role sees why not.
 *
 *   <Route element={<RequireSignIn />}> …pages… </Route>
 *   <Route element={<RequireRole roles={['reviewer', 'admin']} />}> …pages… </Route>
 */
import type { ReactNode } from 'react';
import { Link, Navigate, Outlet, useLocation } from 'react-router';
import type { Role } from '../api/types';
import { Page } from '../components/Page';
import { ErrorState, Loading } from '../components/states';
import { hasRole, useSession } from './session';

export function signInPath(returnTo: string): string {
  return `/sign-in?return_to=${encodeURIComponent(returnTo)}`;
}

/** Only a path on this portal: `//evil.example` or `https://…` would make sign-in an open redirector. */
export function safeReturnTo(value: string | null, fallback = '/apps'): string {
  if (value === null || !/^\/(?![/\\])/.test(value)) return fallback;
  return value;
}

export function RequireSignIn({ children }: { children?: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.status === 'loading') return <Loading label="Checking your session" />;
  if (session.status === 'error') return <ErrorState error={session.error} onRetry={session.retry} />;
  if (session.status === 'signed-out') return <Navigate to={signInPath(location.pathname + location.search + location.hash)} replace />;
  return children ?? <Outlet />;
}

const ROLE_NAMES: Record<Role, string> = { developer: 'developer', reviewer: 'reviewer', admin: 'admin' };

export function RequireRole({ roles, children }: { roles: readonly Role[]; children?: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.status === 'loading') return <Loading label="Checking your session" />;
  if (session.status === 'error') return <ErrorState error={session.error} onRetry={session.retry} />;
  if (session.status === 'signed-out') return <Navigate to={signInPath(location.pathname + location.search + location.hash)} replace />;
  if (!hasRole(session.user, roles)) {
    return (
      <Page title="Not for your account">
        <p>
          This page is for {roles.map((role) => ROLE_NAMES[role]).join(' or ')} accounts; yours is a {ROLE_NAMES[session.user.role]} account. An admin can
          change your role.
        </p>
        <p>
          <Link to="/apps">Go to your apps</Link>
        </p>
      </Page>
    );
  }
  return children ?? <Outlet />;
}
