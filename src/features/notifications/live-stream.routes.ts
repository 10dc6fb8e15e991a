import type { OutgoingHttpHeaders } from 'node:http';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { authenticated, problemsOf, SIGNED_IN } from '../../http/schemas.js';
import { liveStreamError, liveStreamErrors } from './live-stream.errors.js';
import { RETRY_MS, type LiveStream } from './live-stream.js';

const problems = problemsOf(liveStreamErrors);

const eventsQuery = z.object({
  last_event_id: z.string().optional().describe('Resume after this event id, for clients that cannot set the Last-Event-ID header (the header wins when both are sent)'),
});

const eventsHeaders = z.object({
  'last-event-id': z.string().optional().describe('Resume after this event id: what EventSource sends on reconnect'),
});

const STREAM_DESCRIPTION = [
  "Server-Sent Events of the caller's own changes, from the domain event log: every event of the caller's apps " +
    "(`app.*`, `version.*`, `listing.changed`, `webhook.disabled`), the caller's in-app notifications (`notification.created`), " +
    'and for reviewers and admins signed in as themselves the review queue of every app (`version.checked` with status ' +
    '`pending_review`, `version.approved`, `version.rejected`). An API key needs `apps:read`; one restricted to some apps ' +
    'sees only their events and no queue.',
  `Each event is an \`id:\` line (the event id), an \`event:\` line (its type) and a \`data:\` line, \`{id, type, app_id, created_at, data}\` ` +
    `with the event's payload as \`data\`. The stream opens with \`retry: ${RETRY_MS}\` and sends a \`: heartbeat\` comment every EVENTS_HEARTBEAT_SECONDS.`,
  'Reconnect with `Last-Event-ID` (or `?last_event_id=`) to get everything after that id; without it the stream starts at the newest event. ' +
    'A person holds at most EVENTS_STREAMS_PER_USER streams (a new one closes their oldest). The stream ends when the credential stops holding ' +
    '(checked at each heartbeat), when the client reads too slowly, and when the server shuts down: reconnect with Last-Event-ID. See docs/live-events.md.',
].join('\n\n');

const DIGITS = /^[0-9]{1,16}$/;

/**
 * The position a client resumes from: the Last-Event-ID header (what EventSource sends, with the
 * newest id it saw) over the query parameter (fixed in the URL when the stream was first opened).
 */
export function parseLastEventId(header: string | string[] | undefined, query: string | undefined): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header;
  const given = raw !== undefined && raw.trim() !== '' ? raw : query;
  if (given === undefined || given.trim() === '') return undefined;
  const value = given.trim();
  const id = Number(value);
  if (!DIGITS.test(value) || !Number.isSafeInteger(id)) {
    throw liveStreamError('invalid_last_event_id', 'Last-Event-ID (or last_event_id) must be the id of an event this stream sent: a whole number, 0 or more.');
  }
  return id;
}

/** GET /v1/events: the live event stream (live-stream.ts decides what it carries). */
export const liveStreamRoutes: FeatureRoutes<{ liveStream: LiveStream; auth: Authenticator }> = (app, { core }) => {
  const { liveStream, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();

  // Streams never end by themselves: Fastify's close (server.close) would wait on them for ever.
  app.addHook('preClose', async () => {
    await liveStream.closeAll();
  });

  r.get(
    '/v1/events',
    {
      // GET: a cookie session needs no CSRF token, so the web UI's EventSource works as is.
      preHandler: requireActor(auth, 'apps:read'),
      schema: {
        tags: ['notifications'],
        security: authenticated,
        summary: "Live events of the caller's apps and notifications (Server-Sent Events)",
        description: STREAM_DESCRIPTION,
        querystring: eventsQuery,
        headers: eventsHeaders,
        response: {
          200: {
            description: 'An endless text/event-stream',
            content: { 'text/event-stream': { schema: z.string().describe('Events (id, event and data lines, then a blank line) and heartbeat comments') } },
          },
          ...problems(...SIGNED_IN, 'invalid_last_event_id', 'validation_failed', 'live_streams_full'),
        },
      },
    },
    async (request, reply) => {
      const lastEventId = parseLastEventId(request.headers['last-event-id'], request.query.last_event_id);
      const stream = liveStream.open(actorOf(request), request.log);
      let afterId: number;
      try {
        afterId = await stream.prepare(lastEventId);
      } catch (err) {
        stream.close('failed');
        throw err;
      }
      // The security headers and the request id the onRequest hook set (http/server.ts).
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
      // From here the answer is ours: no serializer, no onSend hook, nothing that buffers.
      reply.hijack();
      const res = reply.raw;
      try {
        // The heartbeat keeps the connection busy; the idle timeout is for requests, not streams.
        request.raw.socket.setTimeout(0);
        res.writeHead(200, {
          ...headers,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
          // A stream that ends takes its connection with it: nothing waits on a kept-alive socket at shutdown.
          connection: 'close',
        });
      } catch (err) {
        stream.close('failed');
        res.destroy();
        request.log.warn({ err }, 'live stream: could not start the answer');
        return;
      }
      await stream.run(res, afterId, () => auth.authenticate(request, { recheck: true }));
    },
  );
};
