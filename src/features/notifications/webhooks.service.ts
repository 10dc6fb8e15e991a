import type { Db, Executor } from '../../db/index.js';
import type { DomainEvent, EventNotifier } from '../../events/index.js';
import type { JobQueue } from '../../jobs/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import type { Actor, Clock, Ids } from '../../shared/index.js';
import type { AppsService } from '../apps/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Seal } from './mailer.js';
import { attemptDelivery, secretContext, WEBHOOK_ATTEMPTS, WEBHOOK_BACKOFF, WEBHOOK_JOB, WEBHOOK_TIMEOUT_MS, type DeliveryJob, type WebhookNetwork } from './webhook-delivery.js';
import { webhooksError } from './webhooks.errors.js';
import * as repo from './webhooks.repository.js';
import type { Webhook, WebhookDelivery } from './webhooks.repository.js';
import { ALL_EVENTS, WEBHOOK_EVENT_TYPES, type CreatedWebhookResponse, type CreateWebhookInput, type DeliveryResponse, type UpdateWebhookInput, type WebhookResponse } from './webhooks.schemas.js';
import { checkWebhookUrl } from './webhook-url.js';

/** Webhooks one app may have: each event is one request per webhook. */
export const MAX_WEBHOOKS_PER_APP = 20;
/**
 * Deliveries one webhook may have waiting or retrying. A receiver that never answers holds each
 * attempt for its timeouts; past this, new events are logged as not sent and pings and
 * redeliveries are refused, so the queue stays bounded whatever a developer points a webhook at.
 */
export const MAX_PENDING_DELIVERIES = 100;
export const SECRET_PREFIX = 'whsec_';

export interface WebhooksDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  jobs: JobQueue;
  audit: AuditLog;
  /** Woken after a delivery's commit appended `webhook.disabled`. */
  events: EventNotifier;
  apps: AppsService;
  /** Seals signing secrets under the server key (AccountSecrets.sealer('webhook')). */
  seal: Seal;
  /** Asks the job worker to poll now; called after a commit that enqueued deliveries. */
  wake: () => void;
  config: { webhookAllowHttp: boolean; webhookAllowPrivate: boolean };
  /** Tests only: name resolution and an exempt receiver (webhook-delivery.ts). */
  network?: WebhookNetwork;
}

const notFound = () => webhooksError('webhook_not_found', 'No webhook with this id belongs to this app.');

/**
 * An app's signed webhooks: the owner's CRUD, the delivery log and its replays, and `dispatch`,
 * which turns a domain event into one pending delivery (and one `webhook.deliver` job) per
 * subscribed webhook in the caller's transaction. Every route comes through `apps.owned` first.
 */
export class WebhooksService {
  constructor(private readonly deps: WebhooksDeps) {
    deps.jobs.define<DeliveryJob>(WEBHOOK_JOB, {
      maxAttempts: WEBHOOK_ATTEMPTS,
      backoff: WEBHOOK_BACKOFF,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      // A receiver's slowness is its own: it never takes every job slot from mail and checks.
      concurrency: 1,
      handler: (job) =>
        attemptDelivery({ db: deps.db, clock: deps.clock, seal: deps.seal, events: deps.events, allowPrivate: deps.config.webhookAllowPrivate, network: deps.network }, job),
    });
  }

  async list(actor: Actor, appId: string, query: { limit: number; cursor?: string }): Promise<Page<WebhookResponse>> {
    const app = await this.deps.apps.owned(actor, appId);
    const rows = await repo.listWebhooks(this.deps.db, app.id, { before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (w) => w.id, toWebhookResponse);
  }

  /** The secret is in this answer only; the portal keeps it sealed, to sign with. */
  async create(actor: Actor, appId: string, input: CreateWebhookInput, ip: string | null): Promise<CreatedWebhookResponse> {
    const app = await this.deps.apps.owned(actor, appId);
    const url = this.checkUrl(input.url);
    const now = this.deps.clock.now().toISOString();
    const id = this.deps.ids.id();
    const secret = this.newSecret();
    const row: Webhook = {
      id,
      app_id: app.id,
      url,
      events: JSON.stringify(normalizeEvents(input.events)),
      secret: this.deps.seal.seal(secret, secretContext(id)),
      active: input.active ? 1 : 0,
      disabled_reason: null,
      failing_since: null,
      created_by: actor.userId,
      created_at: now,
      updated_at: now,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.lockApp(trx, app.id);
      if ((await repo.countWebhooks(trx, app.id)) >= MAX_WEBHOOKS_PER_APP) {
        throw webhooksError('webhook_limit_reached', `An app may have at most ${MAX_WEBHOOKS_PER_APP} webhooks; delete one first.`);
      }
      await repo.insertWebhook(trx, row);
      // The host only: a URL's path or query often carries the receiver's own token.
      await this.deps.audit.record({ action: 'webhook.created', actorId: actor.userId, targetType: 'webhook', targetId: id, ip, details: { app_id: app.id, host: new URL(url).host, events: JSON.parse(row.events) as unknown } }, trx);
    });
    return { ...toWebhookResponse(row), secret };
  }

  /** Changes url, events or active; re-activating clears what the portal recorded when it turned the webhook off. */
  async update(actor: Actor, appId: string, webhookId: string, input: UpdateWebhookInput, ip: string | null): Promise<WebhookResponse> {
    const webhook = await this.owned(actor, appId, webhookId);
    const url = input.url === undefined ? undefined : this.checkUrl(input.url);
    const reactivated = input.active === true && Number(webhook.active) !== 1;
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.updateWebhook(trx, webhook.id, {
      ...(url === undefined ? {} : { url }),
      ...(input.events === undefined ? {} : { events: JSON.stringify(normalizeEvents(input.events)) }),
      ...(input.active === undefined ? {} : { active: input.active ? 1 : 0 }),
      // A new address or a fresh start: the failures so far were another story.
      ...(reactivated || (url !== undefined && url !== webhook.url) ? { failing_since: null } : {}),
      ...(reactivated ? { disabled_reason: null } : {}),
      updated_at: this.deps.clock.now().toISOString(),
      });
      if (!row) throw notFound();
      // Where an app's events go is what a stolen apps:write key would change: on the record (hosts only).
      const details = { app_id: webhook.app_id, host: new URL(row.url).host, previous_host: new URL(webhook.url).host, events: JSON.parse(row.events) as unknown, active: Number(row.active) === 1 };
      await this.deps.audit.record({ action: 'webhook.updated', actorId: actor.userId, targetType: 'webhook', targetId: webhook.id, ip, details }, trx);
      return row;
    });
    return toWebhookResponse(updated);
  }

  /** Deletes the webhook with its delivery log; queued deliveries then find nothing to send. */
  async delete(actor: Actor, appId: string, webhookId: string, ip: string | null): Promise<void> {
    const webhook = await this.owned(actor, appId, webhookId);
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.deleteWebhook(trx, webhook.app_id, webhook.id))) throw notFound();
      await this.deps.audit.record({ action: 'webhook.deleted', actorId: actor.userId, targetType: 'webhook', targetId: webhook.id, ip, details: { app_id: webhook.app_id, host: new URL(webhook.url).host } }, trx);
    });
  }

  /** A new secret, shown once; deliveries signed from now on use it. */
  async rotateSecret(actor: Actor, appId: string, webhookId: string, ip: string | null): Promise<CreatedWebhookResponse> {
    const webhook = await this.owned(actor, appId, webhookId);
    const secret = this.newSecret();
    const updated = await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.updateWebhook(trx, webhook.id, { secret: this.deps.seal.seal(secret, secretContext(webhook.id)), updated_at: this.deps.clock.now().toISOString() });
      if (!row) throw notFound();
      await this.deps.audit.record({ action: 'webhook.secret_rotated', actorId: actor.userId, targetType: 'webhook', targetId: webhook.id, ip, details: { app_id: webhook.app_id } }, trx);
      return row;
    });
    return { ...toWebhookResponse(updated), secret };
  }

  async deliveries(actor: Actor, appId: string, webhookId: string, query: { limit: number; cursor?: string }): Promise<Page<DeliveryResponse>> {
    const webhook = await this.owned(actor, appId, webhookId);
    const rows = await repo.listDeliveries(this.deps.db, webhook.id, { before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (d) => d.id, toDeliveryResponse);
  }

  /** Sends a delivery's body again as a new delivery (a new mosis-webhook-id), with its own retries. */
  async redeliver(actor: Actor, appId: string, webhookId: string, deliveryId: string): Promise<DeliveryResponse> {
    const webhook = await this.activeOwned(actor, appId, webhookId);
    const original = await repo.findDelivery(this.deps.db, webhook.id, deliveryId);
    if (!original) throw webhooksError('webhook_delivery_not_found', 'No delivery with this id belongs to this webhook.');
    return this.enqueueNow(webhook, { event_id: original.event_id === null ? null : Number(original.event_id), event_type: original.event_type, body: original.body, redelivery_of: original.id });
  }

  /** A `ping` delivery: shows the receiver is reachable and checks its signature code. */
  async ping(actor: Actor, appId: string, webhookId: string): Promise<DeliveryResponse> {
    const webhook = await this.activeOwned(actor, appId, webhookId);
    const id = this.deps.ids.id();
    const body = deliveryBody({ id, eventId: null, type: 'ping', createdAt: this.deps.clock.now().toISOString(), appId: webhook.app_id, data: { webhook_id: webhook.id, events: JSON.parse(webhook.events) as unknown } });
    return this.enqueueNow(webhook, { id, event_id: null, event_type: 'ping', body, redelivery_of: null });
  }

  /**
   * For every active webhook of the event's app subscribed to its type: a pending delivery and its
   * `webhook.deliver` job, in `trx` (the fan-out's transaction, so they exist exactly when its
   * position moves past the event). A replayed event adds nothing (unique webhook + event).
   * Answers how many deliveries were created; call `wake()` after the commit to send them at once.
   */
  async dispatch(trx: Executor, event: DomainEvent): Promise<number> {
    if (event.appId === null || !WEBHOOK_EVENT_TYPES.includes(event.type)) return 0;
    const hooks = (await repo.activeWebhooks(trx, event.appId)).filter((w) => subscribes(w, event.type));
    // A suspended developer's apps tell nobody anything.
    if (hooks.length === 0 || !(await repo.ownerActive(trx, event.appId))) return 0;
    let created = 0;
    for (const webhook of hooks) {
      const id = this.deps.ids.id();
      const body = deliveryBody({ id, eventId: event.id, type: event.type, createdAt: event.createdAt, appId: event.appId, data: event.payload });
      if (await this.insert(trx, webhook, { id, event_id: event.id, event_type: event.type, body, redelivery_of: null })) created += 1;
    }
    return created;
  }

  /** The fan-out's reaction interface (fanout.ts EventReaction): the same as dispatch. */
  react(trx: Executor, event: DomainEvent): Promise<number> {
    return this.dispatch(trx, event);
  }

  /** Sends enqueued deliveries now instead of at the worker's next poll: call once the transaction committed. */
  wake(): void {
    this.deps.wake();
  }

  private async enqueueNow(webhook: Webhook, delivery: { id?: string; event_id: number | null; event_type: string; body: string; redelivery_of: string | null }): Promise<DeliveryResponse> {
    const id = delivery.id ?? this.deps.ids.id();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      if ((await repo.countPending(trx, webhook.id)) >= MAX_PENDING_DELIVERIES) {
        throw webhooksError('webhook_backlog_full', `${MAX_PENDING_DELIVERIES} deliveries already wait for this webhook; try again once they are sent or have failed.`);
      }
      await this.insert(trx, webhook, { ...delivery, id });
      return repo.findDelivery(trx, webhook.id, id);
    });
    if (!row) throw webhooksError('webhook_delivery_not_found', 'The delivery was not stored.');
    this.deps.wake();
    return toDeliveryResponse(row);
  }

  private async insert(trx: Executor, webhook: Webhook, delivery: { id: string; event_id: number | null; event_type: string; body: string; redelivery_of: string | null }): Promise<boolean> {
    // Too many waiting already: this one is logged, not sent (the developer sees why, and may redeliver later).
    const full = (await repo.countPending(trx, webhook.id)) >= MAX_PENDING_DELIVERIES;
    const inserted = await repo.insertDelivery(trx, {
      ...delivery,
      webhook_id: webhook.id,
      state: full ? 'failed' : 'pending',
      attempts: 0,
      response_status: null,
      response_body: null,
      duration_ms: null,
      error: full ? `Not sent: ${MAX_PENDING_DELIVERIES} deliveries were already waiting for this webhook.` : null,
      created_at: this.deps.clock.now().toISOString(),
      attempted_at: null,
    });
    if (inserted && !full) await this.deps.jobs.enqueue(trx, { kind: WEBHOOK_JOB, key: delivery.id, payload: { delivery_id: delivery.id } satisfies DeliveryJob });
    return inserted;
  }

  private async owned(actor: Actor, appId: string, webhookId: string): Promise<Webhook> {
    const app = await this.deps.apps.owned(actor, appId);
    const webhook = await repo.findWebhook(this.deps.db, app.id, webhookId);
    if (!webhook) throw notFound();
    return webhook;
  }

  private async activeOwned(actor: Actor, appId: string, webhookId: string): Promise<Webhook> {
    const webhook = await this.owned(actor, appId, webhookId);
    if (Number(webhook.active) !== 1) throw webhooksError('webhook_inactive', 'This webhook is not active; turn it on (PATCH active: true) to send to it.');
    return webhook;
  }

  private checkUrl(raw: string): string {
    return checkWebhookUrl(raw, { allowHttp: this.deps.config.webhookAllowHttp, allowPrivate: this.deps.config.webhookAllowPrivate });
  }

  private newSecret(): string {
    return SECRET_PREFIX + this.deps.ids.secret(32);
  }
}

/**
 * The JSON every delivery sends, and the receiver's signature covers, byte for byte:
 * `{id, event_id, type, created_at, app_id, data}`. `id` names this event's delivery to this
 * webhook (a redelivery repeats the body, so the same id); `data` is the event's payload.
 */
function deliveryBody(d: { id: string; eventId: number | null; type: string; createdAt: string; appId: string; data: unknown }): string {
  return JSON.stringify({ id: d.id, event_id: d.eventId, type: d.type, created_at: d.createdAt, app_id: d.appId, data: d.data });
}

function normalizeEvents(events: readonly string[]): string[] {
  return events.includes(ALL_EVENTS) ? [ALL_EVENTS] : [...new Set(events)].sort();
}

function subscribes(webhook: Webhook, type: string): boolean {
  const events = JSON.parse(webhook.events) as string[];
  return events.includes(ALL_EVENTS) || events.includes(type);
}

function toWebhookResponse(row: Webhook): WebhookResponse {
  return {
    id: row.id,
    app_id: row.app_id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    active: Number(row.active) === 1,
    disabled_reason: row.disabled_reason,
    failing_since: row.failing_since,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function toDeliveryResponse(row: WebhookDelivery): DeliveryResponse {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    // bigint: a string from pg.
    event_id: row.event_id === null ? null : Number(row.event_id),
    event_type: row.event_type,
    state: row.state,
    attempts: Number(row.attempts),
    response_status: row.response_status === null ? null : Number(row.response_status),
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    response_body: row.response_body,
    error: row.error,
    created_at: row.created_at,
    attempted_at: row.attempted_at,
    redelivery_of: row.redelivery_of,
  };
}
