import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { apiReferenceRoutes } from './api-reference.js';

/**
 * The OpenAPI 3.1 document is generated from the Zod schemas of the routes, so it cannot drift
 * from what the server validates. Served at /v1/openapi.json and rendered at /docs/api (api-reference.ts).
 */
export async function registerOpenApi(app: FastifyInstance, options: { baseUrl: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Mosis Portal API',
        version: options.version,
        description: 'Developer portal, review, store and telemetry API of Mosis Portal.',
      },
      servers: [{ url: options.baseUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Access JWT or API key (mk_live_…)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  apiReferenceRoutes(app);
  app.get('/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
