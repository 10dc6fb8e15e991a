/**
 * Who is signed in: GET /v1/auth/me with the session cookie, cached by react-query under
 * SESSION_KEY. A 401 means signed out (not an error). Sign-in writes the answer's user here, and
 * sign-out and an expired session clear it, so the header, the guards and every page agree.
 */
import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { isApiProblem } from '../api/problem';
import type { Role, User } from '../api/types';

export const SESSION_KEY = ['/v1/auth/me'] as const;

export type Session =
  | { status: 'loading'; user: null }
  | { status: 'signed-out'; user: null }
  | { status: 'signed-in'; user: User }
  /** The portal could not say (offline, 5xx): pages show it rather than sending to sign-in. */
  | { status: 'error'; user: null; error: unknown; retry: () => void };

async function fetchMe(signal: AbortSignal): Promise<User | null> {
  try {
    return await unwrap(api.GET('/v1/auth/me', { signal }));
  } catch (err) {
    if (isApiProblem(err) && err.status === 401) return null;
    throw err;
  }
}

export function useSession(): Session {
  const query = useQuery({
    queryKey: SESSION_KEY,
    queryFn: ({ signal }) => fetchMe(signal),
    staleTime: 60_000,
    retry: (failures, err) => !isApiProblem(err) || (err.status >= 500 && failures < 2),
  });
  if (query.isPending) return { status: 'loading', user: null };
  if (query.isError) return { status: 'error', user: null, error: query.error, retry: () => void query.refetch() };
  return query.data ? { status: 'signed-in', user: query.data } : { status: 'signed-out', user: null };
}

/** The signed-in user, for components under RequireSignIn (which renders nothing until there is one). */
export function useUser(): User {
  const session = useSession();
  if (session.status !== 'signed-in') throw new Error('useUser() outside RequireSignIn');
  return session.user;
}

export function hasRole(user: User | null, roles: readonly Role[]): boolean {
  return user !== null && roles.includes(user.role);
}

/** After a sign-in: the user is known without asking again, and nothing cached for someone else survives. */
export function signedIn(queryClient: QueryClient, user: User): void {
  queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
  queryClient.setQueryData(SESSION_KEY, user);
}

/** After a sign-out (or a password reset, which ends every session): forget everything. */
export function signedOut(queryClient: QueryClient): void {
  queryClient.clear();
  queryClient.setQueryData(SESSION_KEY, null);
}

export function useSessionActions() {
  const queryClient = useQueryClient();
  return {
    signedIn: (user: User) => signedIn(queryClient, user),
    signedOut: () => signedOut(queryClient),
    refresh: () => queryClient.invalidateQueries({ queryKey: SESSION_KEY }),
  };
}
