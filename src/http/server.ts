import type { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../config/index.js';
import type { Ids } from '../shared/index.js';
import { registerCookies } from './cookies.js';
import { loggerOptions } from './logging.js';
import { registerOpenApi } from './openapi.js';
import { registerProblemHandlers } from './problem.js';
import { trackRoutes } from './route-table.js';
import { registerSecurityHeaders } from './security.js';
import { registerUploads } from './upload.js';

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A Fastify instance with the portal's plumbing: logging, request ids, Zod validation,
 * problem+json errors, security headers, OpenAPI and streaming uploads. Features add routes to it.
 */
export async function createServer(config: Config, ids: Ids, options: { logStream?: Writable; version: string }): Promise<FastifyInstance> {
  const logger = loggerOptions(config.logLevel);
  const app = Fastify({
    logger: options.logStream && logger && typeof logger === 'object' ? { ...logger, stream: options.logStream } : logger,
    bodyLimit: config.limits.jsonBytes,
    trustProxy: config.trustProxy,
    // A load balancer's request id is kept so one id follows the request through both logs.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && INCOMING_REQUEST_ID.test(incoming) ? incoming : ids.id();
    },
    return503OnClosing: true,
    // Uploads of hundreds of MB on a slow link must not be cut off; idle sockets still time out.
    requestTimeout: 0,
    connectionTimeout: 0,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  const allowedMethods = trackRoutes(app);
  registerProblemHandlers(app, allowedMethods);
  await registerSecurityHeaders(app, config.baseUrl.startsWith('https:'));
  await registerCookies(app);
  await registerUploads(app);
  await registerOpenApi(app, { baseUrl: config.baseUrl, version: options.version });
  return app;
}
