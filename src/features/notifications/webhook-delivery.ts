import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Db } from '../../db/index.js';
import { appendEvent, type EventNotifier } from '../../events/index.js';
import type { JobContext } from '../../jobs/index.js';
import type { Clock } from '../../shared/index.js';
import type { Seal } from './mailer.js';
import { checkedAddress, OutboundRefused, pinnedLookup, type HostResolver } from './outbound-address.js';
import * as repo from './webhooks.repository.js';

export const WEBHOOK_JOB = 'webhook.deliver';

/**
 * How long a delivery keeps trying: 16 attempts, 60 s apart doubling to a cap of 4 h. The 15
 * waits add up to 15 300 s (60 s … 2 h 8 min) plus 7 × 4 h, 116 100 s before jitter; half of
 * each wait is jitter (jobs/backoff.ts), so the last attempt comes 16 h to 32 h after the first,
 * about a day on average. Then the delivery is `failed` (the job itself ends `done`: a redelivery,
 * not an admin's retry, is how a developer sends it again).
 */
export const WEBHOOK_ATTEMPTS = 16;
export const WEBHOOK_BACKOFF = { baseMs: 60_000, maxMs: 4 * 60 * 60_000 };
/** Above the sender's own timeouts (10 s to connect, 10 s for the answer) and the DNS lookup. */
export const WEBHOOK_TIMEOUT_MS = 30_000;
/** A webhook whose deliveries all failed for longer than this is turned off. */
export const DISABLE_AFTER_MS = 3 * 24 * 60 * 60_000;

const CONNECT_TIMEOUT_MS = 10_000;
const RESPONSE_TIMEOUT_MS = 10_000;
/** What is kept of an answer: enough to see an error page's gist, never a whole download. */
export const MAX_RESPONSE_BYTES = 1024;

/** What a `webhook.deliver` job holds: only the id; the body and the secret stay in their rows. */
export interface DeliveryJob {
  delivery_id: string;
}

/**
 * Where deliveries may connect, for tests: `resolve` maps host names without real DNS, and
 * `exempt` lets one address and port through the address rule (a receiver on 127.0.0.1 playing
 * a public host), so a test can show that a redirect from it leads nowhere. Unset in a portal.
 */
export interface WebhookNetwork {
  resolve?: HostResolver;
  exempt?: (address: string, port: number) => boolean;
}

/** `v1=<hex HMAC-SHA256 over "<timestamp>.<body>">`, keyed with the whole secret (whsec_… as UTF-8). */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A sealed secret opens only for its own webhook: pasted into another row, it does not open. */
export function secretContext(webhookId: string): string {
  return `webhook ${webhookId}`;
}

export interface DeliveryDeps {
  db: Db;
  clock: Clock;
  seal: Seal;
  /** Woken after a commit that appended `webhook.disabled`. */
  events: EventNotifier;
  allowPrivate: boolean;
  network?: WebhookNetwork;
}

/**
 * One attempt of one delivery, the `webhook.deliver` handler. At least once: a crash after the
 * receiver answered but before the row was written sends the same delivery again, with the same
 * `mosis-webhook-id`, which receivers deduplicate on. A delivery that is no longer pending (an
 * earlier run settled it) is not sent again.
 */
export async function attemptDelivery(deps: DeliveryDeps, job: JobContext<DeliveryJob>): Promise<void> {
  const { db, clock } = deps;
  const delivery = await repo.findDeliveryById(db, job.payload.delivery_id);
  // Gone with its webhook (deleted), or settled by an earlier run of this job.
  if (!delivery || delivery.state !== 'pending') return;
  const webhook = await repo.findWebhookById(db, delivery.webhook_id);
  if (!webhook) return;
  const at = clock.now();
  const refusal = Number(webhook.active) !== 1 ? 'Not sent: the webhook is not active.' : !(await repo.ownerActive(db, webhook.app_id)) ? "Not sent: the app's owner is suspended." : null;
  if (refusal !== null) {
    await db.transaction().execute(async (trx) => {
      await repo.recordAttempt(trx, delivery.id, { state: 'failed', error: refusal });
      await job.markDone(trx);
    });
    return;
  }

  const timestamp = Math.floor(at.getTime() / 1000);
  const started = performance.now();
  let answer: Answer | null = null;
  let error: string | null = null;
  try {
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'MosisPortal-Webhook/1',
      'mosis-webhook-id': delivery.id,
      'mosis-event': delivery.event_type,
      'mosis-timestamp': String(timestamp),
      'mosis-signature': webhookSignature(openSecret(deps.seal, webhook), timestamp, delivery.body),
    };
    answer = await postJson(new URL(webhook.url), headers, delivery.body, { allowPrivate: deps.allowPrivate, network: deps.network, signal: job.signal });
    if (answer.status < 200 || answer.status > 299) error = answer.status >= 300 && answer.status < 400 ? `Answered ${answer.status}: a redirect, which is never followed.` : `Answered ${answer.status}.`;
  } catch (err) {
    error = err instanceof OutboundRefused || err instanceof NotSent ? `Not sent: ${err.message}` : (err as Error).message || String(err);
  }
  const attempt = {
    attempts: job.attempt,
    attempted_at: at.toISOString(),
    response_status: answer?.status ?? null,
    response_body: answer ? storable(answer.body) : null,
    duration_ms: Math.round(performance.now() - started),
    error: error === null ? null : storable(error),
  };
  const last = job.attempt >= job.maxAttempts;
  let disabled = false;
  let recorded = false;
  await db.transaction().execute(async (trx) => {
    const state = error === null ? 'succeeded' : last ? 'failed' : 'pending';
    recorded = await repo.recordAttempt(trx, delivery.id, { ...attempt, state });
    // Settled meanwhile by another run of this job (a lost lease): that run's outcome stands.
    if (!recorded) return;
    if (error === null) {
      await repo.clearFailing(trx, webhook.id);
    } else if (webhook.failing_since === null) {
      await repo.markFailing(trx, webhook.id, at.toISOString());
    } else if (at.getTime() - Date.parse(webhook.failing_since) > DISABLE_AFTER_MS) {
      const reason = `Every delivery failed since ${webhook.failing_since}; the last one: ${error}`;
      disabled = await repo.disableWebhook(trx, webhook.id, reason, at.toISOString());
      // Last in the transaction: appending holds the event log's lock until the commit.
      // The host only: a URL's path or query often carries the receiver's own token.
      if (disabled) await appendEvent(trx, { type: 'webhook.disabled', appId: webhook.app_id, actorId: null, payload: { webhook_id: webhook.id, host: new URL(webhook.url).host }, at });
    }
    if (error === null || last) await job.markDone(trx);
  });
  if (disabled) deps.events.notify();
  // The row says what happened; the job's error only says that it did (admins read it, and a
  // receiver's answer is the developer's business).
  if (recorded && error !== null && !last) throw new Error(`Webhook delivery ${delivery.id} failed; it will be retried.`);
}

/**
 * What a receiver answered, as a column may hold it: PostgreSQL text refuses NUL, and an answer
 * that could not be recorded would leave its delivery pending for ever.
 */
function storable(text: string): string {
  return text.replaceAll('\0', '\uFFFD');
}

/** A delivery that could not even be signed. */
class NotSent extends Error {
  override readonly name = 'NotSent';
}

/** The signing secret; refused (not sent) when the server key is not the one that sealed it. */
function openSecret(seal: Seal, webhook: repo.Webhook): string {
  try {
    return seal.open(webhook.secret, secretContext(webhook.id));
  } catch {
    throw new NotSent("the signing secret does not open with this portal's server key (was SECRETS_KEY changed?); rotate the secret");
  }
}

interface Answer {
  status: number;
  /** At most MAX_RESPONSE_BYTES of the answer, as UTF-8. */
  body: string;
}

/**
 * POSTs `body` to `url`, connected to the address the outbound guard checked (never another one
 * DNS might give a moment later), following no redirect, reading at most MAX_RESPONSE_BYTES of
 * the answer, within CONNECT_TIMEOUT_MS to connect and RESPONSE_TIMEOUT_MS more for the answer.
 */
async function postJson(url: URL, headers: Record<string, string>, body: string, options: { allowPrivate: boolean; network?: WebhookNetwork; signal: AbortSignal }): Promise<Answer> {
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const exempt = options.network?.exempt;
  const target = await checkedAddress(url.hostname, {
    allowPrivate: options.allowPrivate,
    resolve: options.network?.resolve,
    exempt: exempt ? (address) => exempt(address, port) : undefined,
  });
  return new Promise<Answer>((resolve, reject) => {
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinnedLookup(target),
      // A connection of its own: a pooled socket could carry this request to an address nobody checked.
      agent: false,
      signal: options.signal,
    });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
      request.destroy();
    };
    const deadline = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => settle(() => reject(new Error(`${what} within ${ms / 1000} s.`))), ms);
    };
    deadline(CONNECT_TIMEOUT_MS, `No connection to ${url.host}`);
    request.on('socket', (socket) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => deadline(RESPONSE_TIMEOUT_MS, `No answer from ${url.host}`));
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => settle(() => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('data', (chunk: Buffer) => {
        const room = MAX_RESPONSE_BYTES - size;
        chunks.push(chunk.subarray(0, room));
        size += Math.min(room, chunk.length);
        // Enough read: the rest of the answer is never buffered.
        if (size >= MAX_RESPONSE_BYTES) done();
      });
      response.on('end', done);
      // The receiver hung up mid-answer: what came is what there is.
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', (err) => settle(() => reject(describeNetworkError(err, url))));
    request.end(body);
  });
}

function describeNetworkError(err: Error & { code?: string }, url: URL): Error {
  if (err.name === 'AbortError') return new Error('The attempt was cut short (timeout or shutdown).');
  const code = err.code ? ` (${err.code})` : '';
  return new Error(`Could not deliver to ${url.host}: ${err.message}${code}.`);
}
