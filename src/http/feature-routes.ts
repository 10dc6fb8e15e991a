import type { FastifyInstance } from 'fastify';

/**
 * The one shape of a feature's HTTP side: a function that adds the feature's routes to a Fastify
 * scope, given the core. buildApp registers each in a scope of its own
 * (`app.register((scope, _, done) => …)`), so a feature's hooks stay its own.
 * `Needs` names the part of the core the routes use: a feature's routes depend on services, never
 * on the whole portal (and never on core.ts above them).
 */
export type FeatureRoutes<Needs> = (app: FastifyInstance, options: { core: Needs }) => void;
