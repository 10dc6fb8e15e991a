import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { createCore, type Core, type CoreDeps } from './core.js';
import { accountsRoutes, adminRoutes, deviceGrantRoutes, oauthRoutes } from './features/accounts/index.js';
import { adminJobsRoutes } from './features/admin-jobs/index.js';
import { appImagesRoutes, appsRoutes, listingsRoutes, mediaRoutes } from './features/apps/index.js';
import { auditAccessDenials, auditRoutes } from './features/audit/index.js';
import { apiKeysRoutes, signingKeysRoutes } from './features/keys/index.js';
import { liveStreamRoutes, notificationsRoutes } from './features/notifications/index.js';
import { webhooksRoutes } from './features/notifications/index.js';
import { reviewRoutes, storeKeysRoutes } from './features/review/index.js';
import { downloadsRoutes, storeRoutes } from './features/store/index.js';
import { telemetryRoutes } from './features/telemetry/index.js';
import { releaseRoutes, versionsRoutes } from './features/versions/index.js';
import { createServer, healthRoutes, type FeatureRoutes } from './http/index.js';
import { registerMetrics } from './http/metrics.js';
import { cliDownloadRoutes } from './http/cli-download.js';
import { docsSiteRoutes } from './http/docs-site.js';
import { webAppRoutes } from './http/web-app.js';
import { METRICS_PREFIX } from './features/metrics/index.js';
import { packageFile } from './shared/index.js';

const { version } = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };

/** Every feature's HTTP side, each registered the same way, in a Fastify scope of its own. */
// Typed against the whole core: a plugin that needs something the core lacks does not compile.
const FEATURE_ROUTES: readonly FeatureRoutes<Core>[] = [
  accountsRoutes,
  deviceGrantRoutes,
  oauthRoutes,
  adminRoutes,
  auditRoutes,
  adminJobsRoutes,
  apiKeysRoutes,
  signingKeysRoutes,
  appsRoutes,
  listingsRoutes,
  appImagesRoutes,
  mediaRoutes,
  versionsRoutes,
  releaseRoutes,
  storeKeysRoutes,
  reviewRoutes,
  storeRoutes,
  downloadsRoutes,
  telemetryRoutes,
  webhooksRoutes,
  notificationsRoutes,
  liveStreamRoutes,
];

/**
 * The HTTP side of a portal on top of its core: Fastify's plumbing, /healthz and /readyz, and every
 * feature's routes. It neither listens nor migrates (the `serve` verb does both), and closing it
 * leaves the core open: whoever created the core closes it.
 */
export async function buildApp(core: Core): Promise<FastifyInstance> {
  const app = await createServer(core.config, core.ids, { logger: core.log, version });
  // Before the routes, so every route's authorization failures are audited (one hook, no route forgets).
  auditAccessDenials(app, core.audit, core.clock);
  healthRoutes(app, core.readiness);
  // On the root, before the features: every route's answers are timed.
  registerMetrics(app, { registry: core.metrics.registry, prefix: METRICS_PREFIX, token: core.config.metrics.token, public: core.config.metrics.public });
  // The documentation site at /docs (built by `npm run build`; /docs/api stays the OpenAPI reference).
  docsSiteRoutes(app);
  cliDownloadRoutes(app);
  // The web UI at / (built by `npm run build` into dist/web): what no route answers, outside /v1 and /docs.
  webAppRoutes(app);
  for (const routes of FEATURE_ROUTES) {
    const plugin = (scope: FastifyInstance, _options: unknown, done: (err?: Error) => void) => {
      try {
        routes(scope, { core });
        done();
      } catch (err) {
        done(err as Error);
      }
    };
    // Named for Fastify: a nameless plugin is looked for in every loaded module's exports, a few
    // milliseconds a portal (tests build hundreds).
    Object.assign(plugin, { [Symbol.for('fastify.display-name')]: routes.name });
    await app.register(plugin);
  }
  await app.ready();
  return app;
}

/** A core and its server, closed together: what `serve` runs and what tests talk to. */
export interface Portal {
  app: FastifyInstance;
  core: Core;
  /** Closes the server (in-flight requests finish), then the core. */
  close(): Promise<void>;
}

export async function createPortal(config: Config, deps: CoreDeps = {}): Promise<Portal> {
  const core = await createCore(config, deps);
  let app: FastifyInstance;
  try {
    app = await buildApp(core);
  } catch (err) {
    await core.close();
    throw err;
  }
  return {
    app,
    core,
    close: async () => {
      await app.close();
      await core.close();
    },
  };
}
