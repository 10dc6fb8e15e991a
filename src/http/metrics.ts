import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry, type Metric } from 'prom-client';
import { commonError } from '../shared/index.js';

export const METRICS_PATH = '/metrics';
/** The route label of a request no route matched (404s, scanners): one series, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';
const BEARER = /^Bearer +(\S+) *$/i;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** From a cached store answer (a millisecond) to a package upload on a slow line. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface MetricsRouteOptions {
  /** The portal's registry (features/metrics): the request histogram and the process's metrics join it. */
  registry: Registry;
  /** Names every metric (`mosis_`). */
  prefix: string;
  /** METRICS_TOKEN: the bearer token a scrape must send. */
  token: string | null;
  /** Without a token, answer anyone (METRICS_PUBLIC=true) or no one. */
  public: boolean;
}

/**
 * GET /metrics in Prometheus's text format, and the request duration histogram it exports,
 * recorded for every answer by route pattern (never the raw URL: the label set stays bounded
 * whatever clients send), method and status. Registered on the root instance before the features,
 * so every route's answers are counted; /metrics itself is not.
 */
export function registerMetrics(app: FastifyInstance, options: MetricsRouteOptions): void {
  const { registry, prefix } = options;
  // The same metric objects in both registries (prom-client types them as plain objects here).
  // A second server on the same core (tests build one) shares the core's registry and its metrics.
  for (const metric of processMetrics(prefix).getMetricsAsArray()) {
    if (registry.getSingleMetric(metric.name) === undefined) registry.registerMetric(metric as unknown as Metric);
  }
  const name = `${prefix}http_request_duration_seconds`;
  const duration =
    (registry.getSingleMetric(name) as Histogram<'route' | 'method' | 'status_code'> | undefined) ??
    new Histogram({
      name,
      help: 'HTTP requests by route pattern (unmatched for a URL no route has), method and status, with how long each took to answer.',
      labelNames: ['route', 'method', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== METRICS_PATH) {
      const method = METHODS.has(request.method) ? request.method : 'OTHER';
      duration.observe({ route: route ?? UNMATCHED_ROUTE, method, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    }
    done();
  });

  const expected = options.token === null ? null : digest(options.token);
  app.get(METRICS_PATH, { logLevel: 'warn', schema: { hide: true } }, async (request, reply) => {
    // Off unless the operator chose: how busy the portal is and what it holds is not for everyone.
    if (expected === null && !options.public) {
      throw commonError('not_found', 'GET /metrics is off: set METRICS_TOKEN (or METRICS_PUBLIC=true on a private network) to turn it on.');
    }
    if (expected !== null) {
      const given = BEARER.exec(request.headers.authorization ?? '')?.[1] ?? null;
      // Digests compared: constant time whatever the lengths.
      if (given === null || !timingSafeEqual(digest(given), expected)) {
        void reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw commonError('unauthorized', 'GET /metrics needs the METRICS_TOKEN as a bearer token.');
      }
    }
    const body = await registry.metrics();
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(body);
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

const processRegistries = new Map<string, Registry>();

/**
 * The process's own metrics (event loop lag, memory, CPU, handles, GC), collected once per process:
 * they describe the process, not a portal, and each collection starts an event-loop monitor and a
 * GC observer that live as long as the process. Every portal's registry shares these metrics.
 */
function processMetrics(prefix: string): Registry {
  let registry = processRegistries.get(prefix);
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    processRegistries.set(prefix, registry);
  }
  return registry;
}
