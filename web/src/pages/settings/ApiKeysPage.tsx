/**
 * /settings/api-keys: the developer's API keys (GET /v1/keys, a page at a time) with their prefix,
 * scopes, apps, expiry and last use; a new key (shown once, with a copy button); revoking one.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { Schemas } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { ConfirmDialog } from '../../components/Dialog';
import { FormError } from '../../components/form';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { CreateApiKeyForm } from './CreateApiKeyForm';
import { API_KEYS_KEY } from './keys';
import { SCOPES } from './scopes';
import { SettingsNav } from './SettingsNav';
import { Notice } from './Notice';
import { ScrollTable } from '../../components/ScrollTable';
import { ShowMore } from '../../components/ShowMore';

type ApiKey = Schemas['ApiKey'];
type CreatedApiKey = Schemas['CreatedApiKey'];

function keyState(key: ApiKey): { label: string; tone: 'success' | 'danger' | 'neutral' } {
  if (key.revoked_at) return { label: 'Revoked', tone: 'danger' };
  if (key.expires_at && Date.parse(key.expires_at) <= Date.now()) return { label: 'Expired', tone: 'neutral' };
  return { label: 'Active', tone: 'success' };
}

export default function ApiKeysPage() {
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const keys = useInfiniteQuery({
    queryKey: [...API_KEYS_KEY, { limit: 50 }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/keys', { params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  // App names for the keys limited to some apps.
  const apps = useQuery({
    queryKey: ['/v1/apps', { limit: 100 }],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps', { params: { query: { limit: 100 } }, signal })),
  });
  const appNames = new Map((apps.data?.items ?? []).map((app) => [app.id, app.name]));

  const revoke = useMutation({
    mutationFn: (key: ApiKey) => unwrap(api.DELETE('/v1/keys/{id}', { params: { path: { id: key.id } } })),
    onSuccess: (_, key) => {
      setRevoking(null);
      setNotice(`Revoked “${key.name}”. Anything still using it now gets 401.`);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: API_KEYS_KEY }),
  });
  const revokeProblem = formProblem(revoke.error, []);

  const items = keys.data?.pages.flatMap((page) => page.items) ?? [];
  const startButton = (
    <button
      type="button"
      className="button button-primary"
      onClick={() => {
        setNotice(null);
        setCreated(null);
        setCreating(true);
      }}
    >
      New API key
    </button>
  );

  return (
    <Page title="API keys" description="Keys for scripts and CI: they call the API in your name, within their scopes." actions={creating || created || items.length === 0 ? undefined : startButton}>
      <div className="sa-layout">
        <SettingsNav />
        <div className="sa-main stack">
          {created ? (
            <CreatedKey created={created} onDone={() => setCreated(null)} />
          ) : creating ? (
            <section className="card" aria-labelledby="new-key-heading">
              <h2 id="new-key-heading">New API key</h2>
              <CreateApiKeyForm
                onCancel={() => setCreating(false)}
                onCreated={(key) => {
                  setCreating(false);
                  setCreated(key);
                  void queryClient.invalidateQueries({ queryKey: API_KEYS_KEY });
                }}
              />
            </section>
          ) : null}

          <Notice message={notice} />

          {keys.isPending ? (
            <Loading label="Loading your API keys" />
          ) : keys.isError ? (
            <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />
          ) : items.length === 0 ? (
            creating ? null : (
              <EmptyState title="No API keys yet" action={startButton}>
                <p>
                  A key lets a script or a CI job upload and publish versions without your password. The <a href="/docs">developer guide</a> shows how to use one with the{' '}
                  <code>mosis</code> CLI.
                </p>
              </EmptyState>
            )
          ) : (
            <>
              <ScrollTable label="Your API keys">
                <table className="table">
                  <caption className="visually-hidden">Your API keys</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Key</th>
                      <th scope="col">Scopes</th>
                      <th scope="col">Apps</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Status</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((key) => {
                      const state = keyState(key);
                      return (
                        <tr key={key.id}>
                          <td>
                            <strong>{key.name}</strong>
                            <div className="muted small">
                              created <Time value={key.created_at} />
                            </div>
                          </td>
                          <td>
                            <code>{key.prefix}…</code>
                          </td>
                          <td>
                            <ul className="sa-tags">
                              {key.scopes.map((scope) => (
                                <li key={scope} title={SCOPES[scope].explanation}>
                                  <code>{scope}</code>
                                </li>
                              ))}
                            </ul>
                          </td>
                          <td>{key.app_ids ? key.app_ids.map((id) => appNames.get(id) ?? id).join(', ') : <span className="muted">All apps</span>}</td>
                          <td>{key.expires_at ? <Time value={key.expires_at} absolute /> : <span className="muted">Never</span>}</td>
                          <td>
                            <Time value={key.last_used_at} />
                          </td>
                          <td>
                            <span className={`badge badge-${state.tone}`}>{state.label}</span>
                          </td>
                          <td className="sa-actions-cell">
                            {key.revoked_at ? null : (
                              <button type="button" className="button button-small" aria-label={`Revoke ${key.name}`} onClick={() => setRevoking(key)}>
                                Revoke
                              </button>
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </ScrollTable>
              <ShowMore query={keys} label="Show more keys" />
            </>
          )}
          <p className="muted small">
            Package signing keys are separate: see <Link to="/settings/signing-keys">Signing keys</Link>.
          </p>
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
        <p>Scripts and CI jobs using it stop working at once. This cannot be undone; you can create a new key.</p>
        <FormError problem={revokeProblem} />
      </ConfirmDialog>
    </Page>
  );
}

/** The new key, once: copy it now, it is never shown again. */
function CreatedKey({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const keyId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="card sa-created stack" aria-labelledby={`${keyId}-heading`}>
      <h2 id={`${keyId}-heading`} tabIndex={-1} ref={heading}>
        Your new API key “{created.name}”
      </h2>
      <p className="banner">
        <strong>Copy it now: you will not see it again.</strong> The portal keeps only a hash of it. If you lose it, revoke it and create another.
      </p>
      <p className="sa-secret">
        <code id={keyId} className="sa-secret-value">
          {created.key}
        </code>{' '}
        <CopyButton value={created.key} label="Copy the key" targetId={keyId} />
      </p>
      <p className="muted small">
        Send it as <code>Authorization: Bearer {created.prefix}…</code> or <code>X-API-Key</code>.
      </p>
      <p>
        <button type="button" className="button button-primary" onClick={onDone}>
          Done, I have copied it
        </button>
      </p>
    </section>
  );
}
