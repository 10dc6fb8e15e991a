import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { TestUser } from './api.js';
import type { TestPortal } from './portal.js';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * A webhook receiver on 127.0.0.1 that keeps every request and answers from a script: `answer()`
 * queues answers, used in order; once they run out it answers 200 "ok".
 */
export async function startReceiver(): Promise<{
  url: string;
  port: number;
  received: ReceivedHook[];
  answer(...answers: Answer[]): void;
  /** Drops answers a test queued but did not use. */
  reset(): void;
  close(): Promise<void>;
}> {
  const received: ReceivedHook[] = [];
  const script: Answer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = script.shift() ?? { status: 200, body: 'ok' };
      res.writeHead(next.status, next.headers ?? { 'content-type': 'text/plain' });
      res.end(next.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/mosis`,
    port,
    received,
    answer: (...answers) => script.push(...answers),
    reset: () => {
      script.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The verification snippet of docs/webhooks.md, as a receiver writes it: the signature over
 * `<mosis-timestamp>.<raw body>` with the secret, compared in constant time, and the timestamp
 * within five minutes of now.
 */
export function verifyMosisWebhook(secret: string, headers: IncomingHttpHeaders, rawBody: string, now = Date.now()): boolean {
  const timestamp = String(headers['mosis-timestamp'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > 5 * 60) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest();
  const signatures = String(headers['mosis-signature'] ?? '').split(',').map((s) => s.trim());
  return signatures.some((s) => {
    if (!s.startsWith('v1=')) return false;
    const given = Buffer.from(s.slice(3), 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export interface CreatedWebhook {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  secret: string;
}

export async function createWebhook(p: TestPortal, user: TestUser, appId: string, body: Record<string, unknown>): Promise<CreatedWebhook> {
  const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks`, headers: user.auth, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

export interface DeliveryView {
  id: string;
  event_id: number | null;
  event_type: string;
  state: string;
  attempts: number;
  response_status: number | null;
  duration_ms: number | null;
  response_body: string | null;
  error: string | null;
  attempted_at: string | null;
  redelivery_of: string | null;
}

/** The delivery log, newest first. */
export async function deliveries(p: TestPortal, user: TestUser, appId: string, webhookId: string): Promise<DeliveryView[]> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/webhooks/${webhookId}/deliveries`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: DeliveryView[] }>().items;
}

export async function ping(p: TestPortal, user: TestUser, appId: string, webhookId: string): Promise<DeliveryView> {
  const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/webhooks/${webhookId}/ping`, headers: user.auth });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}
