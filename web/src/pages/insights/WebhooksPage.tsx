/**
 * /apps/:appId/webhooks: the app's webhooks (GET /v1/apps/{app_id}/webhooks; at most 20, so one
 * page holds them all), each with its URL, events and state, linking to its page (settings and
 * delivery log); and a new one (POST), whose signing secret is shown once.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { AppNav } from './AppNav';
import { SecretOnce } from './SecretOnce';
import { ScrollTable } from '../../components/ScrollTable';
import type { CreatedWebhook, Webhook } from './types';
import { eventsSummary, webhookState } from './webhook-events';
import { WebhookForm, type WebhookInput } from './WebhookForm';
import { MAX_WEBHOOKS, useWebhooks, webhookPath } from './webhooks-data';

export default function WebhooksPage() {
  const { appId = '' } = useParams();
  const queryClient = useQueryClient();
  const webhooks = useWebhooks(appId);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<CreatedWebhook | null>(null);
  const create = useMutation({
    mutationFn: (input: WebhookInput) => unwrap(api.POST('/v1/apps/{app_id}/webhooks', { params: { path: { app_id: appId } }, body: { ...input, active: true } })),
    onSuccess: (webhook) => {
      setCreated(webhook);
      setAdding(false);
      void queryClient.invalidateQueries({ queryKey: ['/v1/apps/{app_id}/webhooks', appId] });
    },
  });

  const items: Webhook[] = webhooks.data?.items ?? [];
  const full = items.length >= MAX_WEBHOOKS;
  const startAdding = () => {
    create.reset();
    setCreated(null);
    setAdding(true);
  };
  const addButton = (
    <button type="button" className="button button-primary" onClick={startAdding} disabled={full} aria-expanded={adding}>
      New webhook
    </button>
  );

  return (
    <Page
      title="Webhooks"
     
      actions={items.length > 0 && !adding ? addButton : undefined}
    >
      <AppNav appId={appId} />
      <p className="muted">
        The portal POSTs this app's events (a version submitted, approved, published, a listing changed, …) to your URL, signed with the webhook's secret. See{' '}
        <a href="/docs/webhooks">Webhooks</a> for the body, the headers and how to check the signature.
      </p>
      {full ? <p className="banner">This app has {MAX_WEBHOOKS} webhooks, the most it may have: delete one to add another.</p> : null}

      {created ? (
        <SecretOnce secret={created.secret} title="Webhook created" onDone={() => setCreated(null)}>
          <p>
            Deliveries go to <code>{created.url}</code>. <Link to={webhookPath(appId, created.id)}>Open the webhook</Link> to send it a ping and watch its delivery log.
          </p>
        </SecretOnce>
      ) : null}

      {adding ? (
        <section className="card" aria-labelledby="new-webhook">
          <h2 id="new-webhook">New webhook</h2>
          <WebhookForm error={create.error} busy={create.isPending} submitLabel="Add webhook" busyLabel="Adding…" onSubmit={(input) => create.mutate(input)} onCancel={() => setAdding(false)} />
        </section>
      ) : null}

      {webhooks.isPending ? (
        <Loading label="Loading webhooks" />
      ) : webhooks.isError ? (
        <ErrorState error={webhooks.error} onRetry={() => void webhooks.refetch()} />
      ) : items.length === 0 ? (
        adding || created ? null : (
          <EmptyState title="No webhooks yet" action={addButton}>
            <p>Add one to have your CI, chat or dashboard told when a version of this app is checked, reviewed or published.</p>
          </EmptyState>
        )
      ) : (
        <ScrollTable className="ins-scroll" label="Webhooks">
          <table className="table">
            <caption className="visually-hidden">This app's webhooks</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">Added</th>
              </tr>
            </thead>
            <tbody>
              {items.map((webhook) => {
                const state = webhookState(webhook);
                return (
                  <tr key={webhook.id}>
                    <td className="webhook-url">
                      <Link to={webhookPath(appId, webhook.id)}>{webhook.url}</Link>
                    </td>
                    <td>{eventsSummary(webhook.events)}</td>
                    <td>
                      <span className={`badge badge-${state.tone}`}>{state.label}</span>
                      {webhook.failing_since && webhook.active ? (
                        <span className="muted small">
                          {' '}
                          since <Time value={webhook.failing_since} />
                        </span>
                      ) : null}
                    </td>
                    <td>
                      <Time value={webhook.created_at} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </Page>
  );
}
