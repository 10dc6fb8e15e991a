import { randomFillSync } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import type { Config, TrustProxy } from '../config/index.js';
import type { Ids } from '../shared/index.js';
import { registerCookies } from './cookies.js';
import { logAbortedRequest, RequestLog } from './logging.js';
import { registerOpenApi } from './openapi.js';
import { registerProblemHandlers } from './problem.js';
import { trackRoutes } from './route-table.js';
import { securityHeaders } from './security.js';

/** Fastify's types tie the factories to Ajv's compile signature; at run time it calls them the same way. */
const ZOD_COMPILERS = { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler } as unknown as NonNullable<
  FastifyServerOptions['schemaController']
>['compilersFactory'];

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A Fastify instance with the portal's plumbing: logging, request ids, Zod validation,
 * problem+json errors, security headers and OpenAPI. Features add routes to it (upload routes in a
 * scope of their own that takes files: `registerUploads`).
 */
export async function createServer(config: Config, _ids: Ids, options: { logger: FastifyBaseLogger; version: string }): Promise<FastifyInstance> {
  const newRequestId = requestIds();
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new RequestLog(options.logger),
    childLoggerFactory: requestLoggers(),
    bodyLimit: config.limits.jsonBytes,
    trustProxy: trustProxy(config.trustProxy),
    // A load balancer's request id is kept so one id follows the request through both logs.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && INCOMING_REQUEST_ID.test(incoming) ? incoming : newRequestId();
    },
    return503OnClosing: true,
    // Every schema is Zod's: handing Fastify the Zod compilers up front spares it loading Ajv and
    // fast-json-stringify at start (a tenth of a second and megabytes of code it would never use).
    schemaController: { compilersFactory: ZOD_COMPILERS },
    // A slow upload of the largest package passes (it keeps sending, within requestMs); a client
    // that stops sending, or trickles its headers, is cut off. See docs/operations.md.
    requestTimeout: config.http.requestMs,
    connectionTimeout: config.http.idleMs,
    keepAliveTimeout: config.http.keepAliveMs,
    http: {
      headersTimeout: config.http.headersMs,
      requestTimeout: config.http.requestMs,
      // Node enforces the headers and request timeouts on this beat; a 30 s beat would let a
      // 30 s headers timeout run to a minute.
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(config.http.headersMs / 4))),
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Every answer, errors and 404s included, names its request and carries the security headers:
  // one synchronous hook, the headers computed once.
  const security = securityHeaders(config.baseUrl.startsWith('https:'));
  app.addHook('onRequest', (request, reply, done) => {
    void reply.headers(security).header('x-request-id', request.id);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    logAbortedRequest(request);
    done();
  });
  // Once the portal is shutting down, an answer to a request still in flight also ends its
  // connection: a keep-alive client would otherwise hold the closing process open until it gave
  // the idle connection up (5 s for Node's fetch, longer for browsers and load balancers).
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  const allowedMethods = trackRoutes(app);
  registerProblemHandlers(app, allowedMethods);
  await registerCookies(app);
  await registerOpenApi(app, { baseUrl: config.baseUrl, version: options.version });
  return app;
}

/**
 * Request ids are UUIDv7 (an id quoted in a report says when it happened) drawn from a pool of
 * randomness filled 256 ids at a time: a fresh draw for each id, as `Ids.id()` makes, took 9% of
 * the CPU of a /healthz answer.
 */
function requestIds(): () => string {
  const pool = new Uint8Array(16 * 256);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    const random = pool.subarray(next, next + 16);
    next += 16;
    return uuidv7({ random });
  };
}

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;

/**
 * Each request's logger. Fastify asks pino for a child with options (the route's level, or none as
 * `{}`), and pino then rebuilds the child's formatters and, for a level, every log method: 5% of
 * the CPU of a store answer. A child without options is pino's fast path, so the logger at a
 * route's level is made once (per parent) and each request's child comes from it, with the same
 * bindings, serializers, redaction and level as before.
 */
function requestLoggers(): ChildLoggerFactory {
  const atLevel = new WeakMap<FastifyBaseLogger, Map<string, FastifyBaseLogger>>();
  return (parent, bindings, options) => {
    if (options.serializers !== undefined || options.redact !== undefined || options.msgPrefix !== undefined) return parent.child(bindings, options);
    const level = options.level;
    if (level === undefined || level === parent.level) return parent.child(bindings);
    let levels = atLevel.get(parent);
    if (levels === undefined) atLevel.set(parent, (levels = new Map<string, FastifyBaseLogger>()));
    let base = levels.get(level);
    if (base === undefined) levels.set(level, (base = parent.child({}, { level })));
    return base.child(bindings);
  };
}

/** Fastify takes a hop count too, but its types do not say so: the same rule as a function. */
function trustProxy(setting: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (setting === false) return false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return [...setting];
}
