export { createServer } from './server.js';
export { routeTable, type RouteEntry } from './route-table.js';
export { healthRoutes, type ReadinessCheck } from './health.js';
export { requireActor, requireRole, requireUser, actorOf, credentialOf, type Authenticator, type RoleCheck } from './auth.js';
export { clientBudgetKey, MemoryRateLimits, RateLimiter, rateLimit, type Budget, type RateLimits, type RateRule } from './rate-limit.js';
export { PostgresRateLimits } from './rate-limit-pg.js';
export { SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER, sessionCookieNames, setSessionCookies, clearSessionCookies } from './cookies.js';
export { loggerOptions } from './logging.js';
export type { FeatureRoutes } from './feature-routes.js';
