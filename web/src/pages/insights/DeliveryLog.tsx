/**
 * A webhook's delivery log (GET …/deliveries, newest first, a page at a time): each delivery's
 * event, state, attempts, the receiver's answer and when, with what the receiver said and the
 * error on demand, and Redeliver (POST …/redeliver: the same body again, as a new delivery).
 *
 * Deliveries are sent by the portal's job worker a moment after they are made, and the event
 * stream says nothing about them: while a delivery waits for its first attempt the log is read
 * again every second, and not otherwise (a retry waits minutes; the Refresh button is there).
 */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { isApiProblem } from '../../api/problem';
import { ErrorState, Loading } from '../../components/states';
import { absoluteTime, Time } from '../../components/Time';
import { formatMs } from './format';
import { ScrollTable } from '../../components/ScrollTable';
import type { Webhook, WebhookDelivery } from './types';
import { deliveriesKey } from './webhooks-data';
import { ShowMore } from '../../components/ShowMore';

const PAGE_SIZE = 25;
const FIRST_ATTEMPT_POLL_MS = 1_000;

const STATES: Record<WebhookDelivery['state'], { label: string; tone: 'info' | 'success' | 'danger' }> = {
  pending: { label: 'Pending', tone: 'info' },
  succeeded: { label: 'Delivered', tone: 'success' },
  failed: { label: 'Failed', tone: 'danger' },
};

export function DeliveryLog({ appId, webhook, onChanged }: { appId: string; webhook: Webhook; onChanged: (message: string) => void }) {
  const queryClient = useQueryClient();
  const key = deliveriesKey(appId, webhook.id);
  const deliveries = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET('/v1/apps/{app_id}/webhooks/{webhook_id}/deliveries', {
          params: { path: { app_id: appId, webhook_id: webhook.id }, query: { limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: (query) => (query.state.data?.pages.some((page) => page.items.some((d) => d.state === 'pending' && d.attempts === 0)) ? FIRST_ATTEMPT_POLL_MS : false),
  });
  const redeliver = useMutation({
    mutationFn: (delivery: WebhookDelivery) =>
      unwrap(api.POST('/v1/apps/{app_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver', { params: { path: { app_id: appId, webhook_id: webhook.id, delivery_id: delivery.id } } })),
    onSuccess: (_created, delivery) => {
      onChanged(`The ${delivery.event_type} delivery is being sent again.`);
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  const items: WebhookDelivery[] = deliveries.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <section aria-labelledby="delivery-log" className="delivery-log">
      <div className="ins-heading">
        <h2 id="delivery-log">Delivery log</h2>
        <button type="button" className="button button-small" onClick={() => void deliveries.refetch()} disabled={deliveries.isFetching}>
          {deliveries.isFetching && !deliveries.isPending ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <p className="muted small">Failed attempts are retried for about a day, with growing waits. Finished deliveries are kept 30 days.</p>
      {redeliver.isError ? (
        <p className="form-error" role="alert">
          {isApiProblem(redeliver.error) ? redeliver.error.detail : 'The delivery could not be sent again.'}
        </p>
      ) : null}
      {deliveries.isPending ? (
        <Loading label="Loading deliveries" />
      ) : deliveries.isError ? (
        <ErrorState error={deliveries.error} onRetry={() => void deliveries.refetch()} />
      ) : items.length === 0 ? (
        <div className="state state-empty">
          <h3>No deliveries yet</h3>
          <p className="state-body">Send a ping to try the receiver, or wait for the app's next event.</p>
        </div>
      ) : (
        <>
          <ScrollTable className="ins-scroll" label="Deliveries">
            <table className="table delivery-table">
              <caption className="visually-hidden">Deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Response</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((delivery) => (
                  <DeliveryRow
                    key={delivery.id}
                    delivery={delivery}
                    canRedeliver={webhook.active}
                    busy={redeliver.isPending && redeliver.variables.id === delivery.id}
                    onRedeliver={() => redeliver.mutate(delivery)}
                  />
                ))}
              </tbody>
            </table>
          </ScrollTable>
          <ShowMore query={deliveries} label="Show older deliveries" />
        </>
      )}
    </section>
  );
}

function DeliveryRow({ delivery, canRedeliver, busy, onRedeliver }: { delivery: WebhookDelivery; canRedeliver: boolean; busy: boolean; onRedeliver: () => void }) {
  const state = STATES[delivery.state];
  const hasDetails = delivery.response_body !== null || delivery.error !== null;
  return (
    <tr>
      <td>
        <code>{delivery.event_type}</code>
        {delivery.redelivery_of ? <span className="muted small"> redelivery</span> : null}
        <details className="delivery-details">
          <summary>Details</summary>
          <dl>
            <dt>Delivery id</dt>
            <dd>
              <code>{delivery.id}</code>
            </dd>
            {delivery.event_id !== null ? (
              <>
                <dt>Event id</dt>
                <dd>{delivery.event_id}</dd>
              </>
            ) : null}
            {delivery.redelivery_of ? (
              <>
                <dt>Sent again from</dt>
                <dd>
                  <code>{delivery.redelivery_of}</code>
                </dd>
              </>
            ) : null}
            {delivery.duration_ms !== null ? (
              <>
                <dt>Took</dt>
                <dd>{formatMs(delivery.duration_ms)}</dd>
              </>
            ) : null}
            {delivery.error ? (
              <>
                <dt>Error</dt>
                <dd>{delivery.error}</dd>
              </>
            ) : null}
            {delivery.response_body !== null ? (
              <>
                <dt>Response body (first 1 KiB)</dt>
                <dd>
                  <pre className="ins-code" tabIndex={0} role="region" aria-label="Response body">
                    {delivery.response_body || '(empty)'}
                  </pre>
                </dd>
              </>
            ) : null}
            {!hasDetails ? (
              <>
                <dt>Answer</dt>
                <dd className="muted">None yet</dd>
              </>
            ) : null}
          </dl>
        </details>
      </td>
      <td>
        <span className={`badge badge-${state.tone}`}>{state.label}</span>
      </td>
      <td className="ins-num">{delivery.attempts}</td>
      <td>{delivery.response_status !== null ? <code>{delivery.response_status}</code> : <span className="muted">{delivery.error ? 'No answer' : '–'}</span>}</td>
      <td>
        <Time value={delivery.created_at} />
      </td>
      <td>
        <Time value={delivery.attempted_at} />
      </td>
      <td>
        {canRedeliver ? (
          <button type="button" className="button button-small" onClick={onRedeliver} disabled={busy} aria-label={`Redeliver ${delivery.event_type} of ${absoluteTime(new Date(delivery.created_at))}`}>
            {busy ? 'Sending…' : 'Redeliver'}
          </button>
        ) : null}
      </td>
    </tr>
  );
}
