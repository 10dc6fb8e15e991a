/**
 * /apps/:appId/webhooks/:webhookId (the "webhook disabled" mail links here): one webhook. Why it
 * is off when the portal turned it off (three days of failed deliveries) and the way to turn it on
 * again (PATCH active); its URL and events (PATCH); a ping (POST …/ping); a new signing secret
 * (POST …/rotate-secret, shown once); delete; and its delivery log with redeliver.
 *
 * The API has no GET of one webhook: it is read from the app's list (at most 20).
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactElement } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { ConfirmDialog } from '../../components/Dialog';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { AppNav } from './AppNav';
import { DeliveryLog } from './DeliveryLog';
import { useLiveEvents } from './live-events';
import { SecretOnce } from './SecretOnce';
import type { CreatedWebhook, Webhook } from './types';
import { hostOf, webhookState } from './webhook-events';
import { WebhookForm, type WebhookInput } from './WebhookForm';
import { deliveriesKey, useWebhooks, webhooksKey } from './webhooks-data';

export default function WebhookPage() {
  const { appId = '', webhookId = '' } = useParams();
  const webhooks = useWebhooks(appId);
  const queryClient = useQueryClient();
  // The portal may turn it off while the page is open: the stream says so.
  useLiveEvents(['webhook.disabled'], (event) => {
    if (event.data['webhook_id'] === webhookId) void queryClient.invalidateQueries({ queryKey: ['/v1/apps/{app_id}/webhooks', appId] });
  });
  const list = (
    <Link to={`/apps/${encodeURIComponent(appId)}/webhooks`} className="button">
      All webhooks
    </Link>
  );

  if (webhooks.isPending) {
    return (
      <Page title="Webhook" actions={list}>
        <AppNav appId={appId} />
        <Loading label="Loading the webhook" />
      </Page>
    );
  }
  if (webhooks.isError) {
    return (
      <Page title="Webhook" actions={list}>
        <AppNav appId={appId} />
        <ErrorState error={webhooks.error} onRetry={() => void webhooks.refetch()} />
      </Page>
    );
  }
  const webhook = webhooks.data.items.find((w) => w.id === webhookId);
  if (!webhook) {
    return (
      <Page title="Webhook not found">
        <AppNav appId={appId} />
        <EmptyState title="This app has no such webhook" action={list}>
          <p>It may have been deleted, with its delivery log.</p>
        </EmptyState>
      </Page>
    );
  }
  return <WebhookView appId={appId} webhook={webhook} list={list} />;
}

function WebhookView({ appId, webhook, list }: { appId: string; webhook: Webhook; list: ReactElement }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [notice, setNotice] = useState('');
  const [secret, setSecret] = useState<CreatedWebhook | null>(null);
  const [confirm, setConfirm] = useState<'rotate' | 'delete' | null>(null);
  const path = { app_id: appId, webhook_id: webhook.id };

  const saved = (updated: Webhook, message: string) => {
    queryClient.setQueryData(webhooksKey(appId), (old: { items: Webhook[]; next_cursor: string | null } | undefined) =>
      old ? { ...old, items: old.items.map((w) => (w.id === updated.id ? updated : w)) } : old,
    );
    void queryClient.invalidateQueries({ queryKey: ['/v1/apps/{app_id}/webhooks', appId] });
    setNotice(message);
  };
  const update = useMutation({
    mutationFn: (body: Partial<WebhookInput> & { active?: boolean }) => unwrap(api.PATCH('/v1/apps/{app_id}/webhooks/{webhook_id}', { params: { path }, body })),
    onSuccess: (updated, body) =>
      saved(updated, body.active === true ? 'The webhook is on again.' : body.active === false ? 'The webhook is off: nothing is delivered until you turn it on.' : 'Saved.'),
  });
  const ping = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/apps/{app_id}/webhooks/{webhook_id}/ping', { params: { path } })),
    onSuccess: () => {
      setNotice('Ping sent: it shows in the delivery log below.');
      void queryClient.invalidateQueries({ queryKey: deliveriesKey(appId, webhook.id) });
    },
  });
  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/apps/{app_id}/webhooks/{webhook_id}/rotate-secret', { params: { path } })),
    onSuccess: (created) => {
      setConfirm(null);
      setSecret(created);
      saved(created, '');
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/v1/apps/{app_id}/webhooks/{webhook_id}', { params: { path } })),
    onSuccess: () => {
      queryClient.setQueryData(webhooksKey(appId), (old: { items: Webhook[]; next_cursor: string | null } | undefined) =>
        old ? { ...old, items: old.items.filter((w) => w.id !== webhook.id) } : old,
      );
      void queryClient.invalidateQueries({ queryKey: ['/v1/apps/{app_id}/webhooks', appId] });
      void navigate(`/apps/${encodeURIComponent(appId)}/webhooks`, { replace: true });
    },
  });

  const state = webhookState(webhook);
  const actionError = [ping.error, rotate.error, remove.error].find(Boolean);

  return (
    <Page
      title={`Webhook to ${hostOf(webhook.url)}`}
     
      actions={
        <>
          <button type="button" className="button button-primary" onClick={() => ping.mutate()} disabled={!webhook.active || ping.isPending}>
            {ping.isPending ? 'Sending…' : 'Send a ping'}
          </button>
          {list}
        </>
      }
    >
      <AppNav appId={appId} />
      <p className="webhook-summary">
        <span className={`badge badge-${state.tone}`}>{state.label}</span> <code className="webhook-url">{webhook.url}</code>
      </p>
      {/* Always there, so what it says next is announced. */}
      <p className="ins-notice" role="status">
        {notice}
      </p>
      {actionError ? (
        <p className="form-error" role="alert">
          {isApiProblem(actionError) ? actionError.detail : 'That did not work. Try again.'}
        </p>
      ) : null}

      {!webhook.active ? (
        <div className={webhook.disabled_reason ? 'banner ins-banner-danger' : 'banner'} role="region" aria-label="This webhook is off">
          <div>
            {webhook.disabled_reason ? (
              <>
                <p>
                  <strong>The portal turned this webhook off.</strong> {webhook.disabled_reason}
                </p>
                <p>
                  {webhook.failing_since ? (
                    <>
                      Every delivery had failed since <Time value={webhook.failing_since} absolute />.{' '}
                    </>
                  ) : null}
                  Fix the receiver (the delivery log shows what it answered), then turn the webhook on again: new events are delivered from then on.
                </p>
              </>
            ) : (
              <p>
                <strong>This webhook is off:</strong> nothing is delivered to it, and events that happen meanwhile are not sent later.
              </p>
            )}
          </div>
          <button type="button" className="button" onClick={() => update.mutate({ active: true })} disabled={update.isPending}>
            {update.isPending ? 'Turning on…' : 'Turn on again'}
          </button>
        </div>
      ) : webhook.failing_since ? (
        <div className="banner" role="region" aria-label="Deliveries are failing">
          <p>
            Deliveries have been failing since <Time value={webhook.failing_since} absolute />. After three days of failures the portal turns the webhook off and tells you.
          </p>
        </div>
      ) : null}

      {secret ? <SecretOnce secret={secret.secret} title="New signing secret" onDone={() => setSecret(null)} /> : null}

      <DeliveryLog appId={appId} webhook={webhook} onChanged={setNotice} />

      <section className="card" aria-labelledby="webhook-settings">
        <h2 id="webhook-settings">Settings</h2>
        <WebhookForm
          key={`${webhook.url} ${webhook.events.join(',')}`}
          initial={{ url: webhook.url, events: webhook.events as WebhookInput['events'] }}
          error={update.error}
          busy={update.isPending}
          submitLabel="Save changes"
          busyLabel="Saving…"
          onSubmit={(input) => update.mutate(input)}
        />
        <p className="muted small">
          Added <Time value={webhook.created_at} />, changed <Time value={webhook.updated_at} />. Changing the URL clears the record of failures.
        </p>
      </section>

      <section className="card ins-danger-zone" aria-labelledby="webhook-manage">
        <h2 id="webhook-manage">Secret, pause and delete</h2>
        <div className="ins-actions">
          <button type="button" className="button" onClick={() => setConfirm('rotate')}>
            Rotate the secret
          </button>
          {webhook.active ? (
            <button type="button" className="button" onClick={() => update.mutate({ active: false })} disabled={update.isPending}>
              Turn off
            </button>
          ) : null}
          <button type="button" className="button button-danger" onClick={() => setConfirm('delete')}>
            Delete webhook
          </button>
        </div>
      </section>

      <ConfirmDialog
        open={confirm === 'rotate'}
        title="Rotate the signing secret?"
        confirmLabel="Rotate"
        busy={rotate.isPending}
        onConfirm={() => rotate.mutate()}
        onClose={() => setConfirm(null)}
      >
        <p>Deliveries are signed with the new secret from now on, and the old one stops working at once: update your receiver right away. The new secret is shown once.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'delete'}
        title="Delete this webhook?"
        confirmLabel="Delete"
        danger
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
        onClose={() => setConfirm(null)}
      >
        <p>
          Nothing more is delivered to <code>{webhook.url}</code>, and its delivery log is deleted with it.
        </p>
      </ConfirmDialog>
    </Page>
  );
}
