export { createServer } from './server.js';
export { healthRoutes, type ReadinessCheck } from './health.js';
export { requireActor, actorOf, credentialOf, type Authenticator } from './auth.js';
