import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, type Authenticator } from '../../http/auth.js';
import { authenticated, problemsOf, JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE } from '../../http/schemas.js';
import { appIdParams } from './apps.schemas.js';
import { listingParams, listingResponse, listingsResponse, putListingBody } from './listings.schemas.js';
import type { ListingsService } from './listings.service.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { appsErrors, OWN_APP } from './apps.errors.js';

const problems = problemsOf(appsErrors);

export const listingsRoutes: FeatureRoutes<{ listings: ListingsService; auth: Authenticator }> = (app, { core }) => {
  const { listings: service, auth } = core;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['apps'];
  const security = authenticated;

  r.get(
    '/v1/apps/:app_id/listings',
    {
      preHandler: requireActor(auth, 'apps:read'),
      schema: { tags, security, summary: "An app's localized listings, by locale", params: appIdParams, response: { 200: listingsResponse, ...problems(...SIGNED_IN, 'validation_failed', ...OWN_APP) } },
    },
    (request) => service.list(actorOf(request), request.params.app_id),
  );

  r.put(
    '/v1/apps/:app_id/listings/:locale',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: {
        tags,
        security,
        summary: 'Create or replace the listing of one locale',
        params: listingParams,
        body: putListingBody,
        response: { 200: listingResponse, 201: listingResponse, ...problems(...SIGNED_IN_WRITE, ...JSON_BODY, ...OWN_APP, 'listing_limit_reached') },
      },
    },
    async (request, reply) => {
      const { created, listing } = await service.put(actorOf(request), request.params.app_id, request.params.locale, request.body);
      return reply.code(created ? 201 : 200).send(listing);
    },
  );

  r.delete(
    '/v1/apps/:app_id/listings/:locale',
    {
      preHandler: requireActor(auth, 'apps:write'),
      schema: { tags, security, summary: 'Delete the listing of one locale', params: listingParams, response: { 204: z.undefined().describe('Deleted'), ...problems(...SIGNED_IN_WRITE, 'validation_failed', ...OWN_APP, 'listing_not_found') } },
    },
    async (request, reply) => {
      await service.remove(actorOf(request), request.params.app_id, request.params.locale);
      return reply.code(204).send();
    },
  );
};
