/**
 * The account's sessions (GET /v1/auth/sessions): browsers signed in to the web UI and API
 * sign-ins (the mosis CLI), each with its device, IP address, when it signed in and was last used,
 * and whether it used the second factor. This one is marked; any other can be signed out, or all
 * of them at once.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import type { Schemas } from '../../api/types';
import { ConfirmDialog } from '../../components/Dialog';
import { FormError } from '../../components/form';
import { formProblem } from '../../api/problem';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { deviceName } from './device';
import { SESSIONS_KEY } from './keys';
import { Notice } from './Notice';
import { ScrollTable } from '../../components/ScrollTable';

type AccountSession = Schemas['AccountSession'];

export function SessionsList() {
  const queryClient = useQueryClient();
  const sessions = useQuery({ queryKey: SESSIONS_KEY, queryFn: ({ signal }) => unwrap(api.GET('/v1/auth/sessions', { signal })) });
  const [notice, setNotice] = useState<string | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);

  const revoke = useMutation({
    mutationFn: (session: AccountSession) => unwrap(api.DELETE('/v1/auth/sessions/{id}', { params: { path: { id: session.id } } })),
    onSuccess: (_, session) => setNotice(`Signed out ${deviceName(session)}.`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: SESSIONS_KEY }),
  });
  const revokeOthers = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/auth/sessions/revoke-others')),
    onSuccess: () => {
      setConfirmAll(false);
      setNotice('Every other session has been signed out.');
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: SESSIONS_KEY }),
  });
  const problem = formProblem(revoke.error ?? revokeOthers.error, []);

  if (sessions.isPending) return <Loading label="Loading your sessions" />;
  if (sessions.isError) return <ErrorState error={sessions.error} onRetry={() => void sessions.refetch()} />;
  const items = sessions.data.items;
  const others = items.filter((session) => !session.current);
  if (items.length === 0) return <EmptyState title="No sessions">Sign-ins from browsers and the mosis CLI show here.</EmptyState>;

  return (
    <div className="stack">
      <Notice message={notice} />
      <FormError problem={problem} />
      <ScrollTable label="Your sessions">
        <table className="table sa-sessions">
          <caption className="visually-hidden">Your sessions</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((session) => {
              const name = deviceName(session);
              return (
                <tr key={session.id} aria-current={session.current || undefined}>
                  <td>
                    <span className="sa-device" title={session.user_agent ?? undefined}>
                      {name}
                    </span>{' '}
                    {session.current ? <span className="badge badge-info">{session.kind === 'web' ? 'This browser' : 'This session'}</span> : null}{' '}
                    {session.methods.includes('otp') ? <span className="badge badge-success">Two-factor</span> : null}
                  </td>
                  <td>{session.ip ? <code>{session.ip}</code> : <span className="muted">unknown</span>}</td>
                  <td>
                    <Time value={session.signed_in_at} />
                  </td>
                  <td>
                    <Time value={session.last_used_at} />
                  </td>
                  <td className="sa-actions-cell">
                    {session.current ? null : (
                      <button
                        type="button"
                        className="button button-small"
                        aria-label={`Sign out ${name}, last used ${new Date(session.last_used_at).toLocaleString()}`}
                        disabled={revoke.isPending && revoke.variables.id === session.id}
                        onClick={() => {
                          setNotice(null);
                          revoke.mutate(session);
                        }}
                      >
                        Sign out
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollTable>
      {others.length > 0 ? (
        <p>
          <button type="button" className="button button-danger" onClick={() => setConfirmAll(true)}>
            Sign out all other sessions
          </button>
        </p>
      ) : (
        <p className="muted">This is your only session.</p>
      )}
      <ConfirmDialog
        open={confirmAll}
        title="Sign out all other sessions?"
        confirmLabel="Sign them out"
        danger
        busy={revokeOthers.isPending}
        onConfirm={() => {
          setNotice(null);
          revokeOthers.mutate();
        }}
        onClose={() => setConfirmAll(false)}
      >
        <p>
          {others.length === 1 ? 'One other session' : `${others.length} other sessions`} will have to sign in again, the mosis CLI included. This browser stays signed in.
        </p>
      </ConfirmDialog>
    </div>
  );
}
