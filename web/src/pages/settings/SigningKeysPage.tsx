/**
 * /settings/signing-keys: the Ed25519 public keys the developer's packages may be signed with
 * (GET /v1/signing-keys), registering one, and revoking one. Revoked keys stay listed, so the
 * developer can see what signed older versions.
 */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { Schemas } from '../../api/types';
import { ConfirmDialog } from '../../components/Dialog';
import { FormError } from '../../components/form';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { SIGNING_KEYS_KEY } from './keys';
import { RegisterSigningKeyForm } from './RegisterSigningKeyForm';
import { SettingsNav } from './SettingsNav';
import { Notice } from './Notice';
import { ScrollTable } from '../../components/ScrollTable';
import { ShowMore } from '../../components/ShowMore';

type SigningKey = Schemas['SigningKey'];

/** A SHA-256 fingerprint in groups, as people compare them by eye with `mosis keys generate`'s output. */
function spaced(fingerprint: string): string {
  return fingerprint.replace(/(.{8})(?=.)/g, '$1 ');
}

export default function SigningKeysPage() {
  const queryClient = useQueryClient();
  const [registering, setRegistering] = useState(false);
  const [revoking, setRevoking] = useState<SigningKey | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const keys = useInfiniteQuery({
    queryKey: [...SIGNING_KEYS_KEY, { limit: 50 }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/signing-keys', { params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const revoke = useMutation({
    mutationFn: (key: SigningKey) => unwrap(api.DELETE('/v1/signing-keys/{id}', { params: { path: { id: key.id } } })),
    onSuccess: (_, key) => {
      setRevoking(null);
      setNotice(`Revoked “${key.name}”. Versions signed with it are no longer accepted.`);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: SIGNING_KEYS_KEY }),
  });
  const revokeProblem = formProblem(revoke.error, []);
  const items = keys.data?.pages.flatMap((page) => page.items) ?? [];

  const startButton = (
    <button
      type="button"
      className="button button-primary"
      onClick={() => {
        setNotice(null);
        setRegistering(true);
      }}
    >
      Register a key
    </button>
  );

  return (
    <Page title="Signing keys" description="The public keys your packages are signed with. The portal accepts a version only when an active key of yours signed it." actions={registering || items.length === 0 ? undefined : startButton}>
      <div className="sa-layout">
        <SettingsNav />
        <div className="sa-main stack">
          {registering ? (
            <section className="card" aria-labelledby="register-key-heading">
              <h2 id="register-key-heading">Register a signing key</h2>
              <RegisterSigningKeyForm
                onCancel={() => setRegistering(false)}
                onRegistered={(key) => {
                  setRegistering(false);
                  setNotice(`Registered “${key.name}”. Packages signed with it can now be uploaded.`);
                  void queryClient.invalidateQueries({ queryKey: SIGNING_KEYS_KEY });
                }}
              />
            </section>
          ) : null}
          <Notice message={notice} />

          {keys.isPending ? (
            <Loading label="Loading your signing keys" />
          ) : keys.isError ? (
            <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />
          ) : items.length === 0 ? (
            registering ? null : (
              <EmptyState title="No signing keys yet" action={startButton}>
                <p>
                  Create a key pair with <code>mosis keys generate</code>, then register its public half here. The <a href="/docs">developer guide</a> explains signing.
                </p>
              </EmptyState>
            )
          ) : (
            <>
              <ScrollTable label="Your signing keys">
                <table className="table">
                  <caption className="visually-hidden">Your signing keys</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Fingerprint (SHA-256)</th>
                      <th scope="col">Registered</th>
                      <th scope="col">Status</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((key) => (
                      <tr key={key.id}>
                        <td>
                          <strong>{key.name}</strong>
                        </td>
                        <td>
                          <code className="sa-fingerprint">{spaced(key.fingerprint)}</code>
                        </td>
                        <td>
                          <Time value={key.created_at} />
                        </td>
                        <td>
                          {key.revoked_at ? (
                            <span className="badge badge-danger">
                              Revoked <Time value={key.revoked_at} />
                            </span>
                          ) : (
                            <span className="badge badge-success">Active</span>
                          )}
                        </td>
                        <td className="sa-actions-cell">
                          {key.revoked_at ? null : (
                            <button type="button" className="button button-small" aria-label={`Revoke ${key.name}`} onClick={() => setRevoking(key)}>
                              Revoke
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
              <ShowMore query={keys} label="Show more keys" />
            </>
          )}
        </div>
      </div>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ''}”?`}
        confirmLabel="Revoke key"
        danger
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onClose={() => {
          revoke.reset();
          setRevoking(null);
        }}
      >
        <p>Packages signed with this key are refused from now on, so sign new versions with another registered key. This cannot be undone; you can register the key again.</p>
        <FormError problem={revokeProblem} />
      </ConfirmDialog>
    </Page>
  );
}
