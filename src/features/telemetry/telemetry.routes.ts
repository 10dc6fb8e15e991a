import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { pageSchema } from '../../http/pagination.js';
import { clientBudgetKey, RateLimiter } from '../../http/rate-limit.js';
import { authenticated, problemsOf, JSON_BODY, PAGED, SIGNED_IN, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { AppError, commonError, commonErrors, type Clock } from '../../shared/index.js';
import { appIdParams, appsErrors, OWN_APP } from '../apps/index.js';
import { versionsErrors } from '../versions/index.js';
import { telemetryErrors } from './telemetry.errors.js';
import {
  analyticsQuery,
  analyticsResponse,
  crashAccepted,
  crashBody,
  crashGroupParams,
  crashGroupResponse,
  crashGroupsQuery,
  CRASH_BODY_BYTES,
  deviceParams,
  eventsBody,
  EVENTS_BODY_BYTES,
  ingestResponse,
  updateCrashGroupBody,
} from './telemetry.schemas.js';
import type { DeviceAnswer } from './telemetry-thread.js';
import type { TelemetryService } from './telemetry.service.js';

/**
 * The body as the device's bytes (the scope's JSON parser hands them over unread; typed as the
 * schema documents it). A request without a body and without a content type is not parsed at
 * all: it is the empty body, which the thread refuses as such.
 */
const bytesOf = (body: unknown): Uint8Array => (body instanceof Uint8Array ? body : new Uint8Array(0));

const problems = problemsOf(telemetryErrors, appsErrors, versionsErrors, commonErrors);
const MINUTE_MS = 60_000;
/**
 * Devices post telemetry all day: a line per accepted batch would fill a NAS's log. Refusals and
 * failures keep their line (http/logging.ts).
 */
const QUIET = 'warn';

/**
 * Telemetry: the device side (events, crash reports, erasure; public, limited per client address
 * and per device) and the developer side (analytics and crash groups of their own apps).
 */
export const telemetryRoutes: FeatureRoutes<{ telemetry: TelemetryService; auth: Authenticator; config: Config; clock: Clock }> = (app, { core }) => {
  const { telemetry, auth, config } = core;
  const { perAddressPerMinute } = config.telemetry;
  // A table of its own: a flood of addresses must never push the sign-in limits' counters out.
  // (Each device's budget is counted in the telemetry thread, which reads its id: device-budget.ts.)
  const limiter = new RateLimiter(core.clock);

  /** The per-address budget, charged before the body is read (a synchronous hook). */
  const addressBudget = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const wait = perAddressPerMinute === 0 ? null : limiter.hit(`address:${clientBudgetKey(request.ip)}`, perAddressPerMinute, MINUTE_MS);
    if (wait === null) return done();
    void reply.header('retry-after', String(wait));
    done(commonError('rate_limited', `Too many telemetry requests; retry after ${wait} seconds.`));
  };

  /** The answer to a device's request, or the problem the thread refused it with. */
  const answered = <T>(reply: FastifyReply, answer: DeviceAnswer<T>): T => {
    if (answer.ok) return answer.value;
    const { refusal } = answer;
    if (refusal.retryAfter !== undefined) void reply.header('retry-after', String(refusal.retryAfter));
    throw commonError(refusal.code, refusal.detail, refusal.errors);
  };

  // A busy writer says when to come back.
  app.addHook('onError', async (_request, reply, error) => {
    if (error instanceof AppError && error.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '2');
  });
  const deviceTags = ['telemetry'];
  const ingestProblems = problems('validation_failed', 'malformed_json', 'payload_too_large', 'unsupported_media_type', 'rate_limited', 'telemetry_busy', 'telemetry_unavailable');

  // What devices post is read in the telemetry thread, not here: the body reaches the handler as
  // its bytes, and the thread parses it and checks it against the same schemas the OpenAPI
  // document shows (intake.ts). At 500 batches a second, parsing and 50 000 schema checks a second
  // on the event loop made every other request wait behind them.
  void app.register((device, _options, done) => {
    // JSON only (another type is 415), handed over as bytes.
    device.removeAllContentTypeParsers();
    device.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, parsed) => parsed(null, body));
    /** The schema documents the body; the thread checks it. */
    const checkedByTheThread = () => (value: unknown) => ({ value });
    const r = device.withTypeProvider<ZodTypeProvider>();
    r.post(
      '/v1/telemetry/events',
      {
        logLevel: QUIET,
        bodyLimit: EVENTS_BODY_BYTES,
        onRequest: addressBudget,
        validatorCompiler: checkedByTheThread,
        schema: {
          tags: deviceTags,
          summary: 'Send a batch of app events (up to 500, 256 KiB)',
          description:
            'Each event is checked on its own: a bad one, one of an unknown package or version, or one stamped more than 24 hours ahead or 30 days behind the portal is refused and counted, the others are kept. 202 once the kept events are on disk. `opt_out: true` discards the batch.',
          body: eventsBody,
          response: { 202: ingestResponse, ...ingestProblems },
        },
      },
      async (request, reply) => reply.code(202).send(answered(reply, await telemetry.ingestEvents(bytesOf(request.body)))),
    );

    r.post(
      '/v1/telemetry/crashes',
      {
        logLevel: QUIET,
        bodyLimit: CRASH_BODY_BYTES,
        onRequest: addressBudget,
        validatorCompiler: checkedByTheThread,
        schema: {
          tags: deviceTags,
          summary: 'Send a crash report (128 KiB)',
          description: 'Filed into a crash group by its normalized stack trace. 202 once it is on disk; `accepted: false` with a reason for an unknown package or version or a timestamp outside the window.',
          body: crashBody,
          response: { 202: crashAccepted, ...ingestProblems },
        },
      },
      async (request, reply) => reply.code(202).send(answered(reply, await telemetry.ingestCrash(bytesOf(request.body)))),
    );
    done();
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  r.delete(
    '/v1/telemetry/devices/:device_id',
    {
      onRequest: addressBudget,
      schema: {
        tags: deviceTags,
        summary: "Erase a device's raw events and crash reports",
        description: 'Answered 204 whether or not anything was kept for the device; aggregates (which hold no device) stay.',
        params: deviceParams,
        response: { 204: z.undefined().describe('Erased (or there was nothing)'), ...problems('validation_failed', 'rate_limited', 'telemetry_unavailable') },
      },
    },
    async (request, reply) => {
      answered(reply, await telemetry.forgetDevice(request.params.device_id));
      return reply.code(204).send();
    },
  );

  const tags = ['analytics'];
  const security = authenticated;
  r.get(
    '/v1/apps/:app_id/analytics',
    {
      preHandler: requireActor(auth, 'telemetry:read'),
      schema: {
        tags,
        security,
        summary: "An app's usage, sessions, crashes and performance over time",
        description: 'From the hourly and daily rollups (refreshed every minute). `format=csv` answers the series as CSV.',
        params: appIdParams,
        querystring: analyticsQuery,
        response: { 200: analyticsResponse, ...problems(...SIGNED_IN, 'validation_failed', 'analytics_range_invalid', 'version_not_found', ...OWN_APP) },
      },
    },
    async (request, reply) => {
      const answer = await telemetry.analytics(actorOf(request), request.params.app_id, request.query);
      void reply.header('cache-control', 'private, no-cache');
      if (request.query.format === 'csv') {
        // A string is sent as it is (Fastify serializes only objects); the schema describes the JSON form.
        const csv = answer.csv as unknown as typeof answer.json;
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="analytics-${request.params.app_id}-${request.query.granularity}.csv"`).send(csv);
      }
      return reply.send(answer.json);
    },
  );

  r.get(
    '/v1/apps/:app_id/crashes',
    {
      preHandler: requireActor(auth, 'telemetry:read'),
      schema: { tags, security, summary: "An app's crash groups, most recently seen first", params: appIdParams, querystring: crashGroupsQuery, response: { 200: pageSchema(crashGroupResponse), ...problems(...SIGNED_IN, ...PAGED, ...OWN_APP) } },
    },
    (request) => telemetry.crashGroups(actorOf(request), request.params.app_id, request.query),
  );

  r.get(
    '/v1/apps/:app_id/crashes/:group_id',
    {
      preHandler: requireActor(auth, 'telemetry:read'),
      schema: { tags, security, summary: 'One crash group: counts, versions, a sample', params: crashGroupParams, response: { 200: crashGroupResponse, ...problems(...SIGNED_IN, 'validation_failed', 'crash_group_not_found', ...OWN_APP) } },
    },
    (request) => telemetry.crashGroup(actorOf(request), request.params.app_id, request.params.group_id),
  );

  r.patch(
    '/v1/apps/:app_id/crashes/:group_id',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: {
        tags,
        security,
        summary: "Set a crash group's status",
        description: 'resolved: reopened when a version newer than every version that had crashed crashes the same way; ignored: stays ignored.',
        params: crashGroupParams,
        body: updateCrashGroupBody,
        response: { 200: crashGroupResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, 'crash_group_not_found', 'telemetry_unavailable', ...OWN_APP) },
      },
    },
    (request) => telemetry.updateCrashGroup(actorOf(request), request.params.app_id, request.params.group_id, request.body.status),
  );
};
