import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientBudgetKey, RateLimiter } from '../../http/rate-limit.js';
import { AccessDenied, AppError, type Clock } from '../../shared/index.js';
import type { AuditLog } from './audit.service.js';

/**
 * Denials are written to the audit log only up to these budgets: anyone can provoke a 403 as
 * fast as they can send requests, and the append-only table must not become theirs to fill.
 * Past a budget a denial is still in the request log (status, route, request id); the audit log
 * keeps the first few per caller, and one `access.denied_suppressed` entry when it stops, which is
 * what shows who was trying.
 */
const WINDOW_MS = 10 * 60 * 1000;
const PER_CALLER = 10;
const OVERALL = 300;

/**
 * Records every authorization failure in the audit log as `access.denied`: a 403 of any kind
 * (scope, role, 2FA, CSRF, an API key restricted to other apps) and the 404 that answers for
 * something that is someone else's (AccessDenied). Done once here, in the error path, so no
 * route can forget it; the entry names the route pattern, never the raw URL.
 */
export function auditAccessDenials(app: FastifyInstance, audit: AuditLog, clock: Clock): void {
  // A table of its own: denials must not crowd the sign-in limits out of theirs.
  const budget = new RateLimiter(clock);
  app.addHook('onError', async (request, _reply, error) => {
    if (!(error instanceof AccessDenied) && !(error instanceof AppError && error.status === 403)) return;
    const actorId = request.actor?.userId ?? null;
    const caller = actorId !== null ? `user:${actorId}` : `ip:${clientBudgetKey(request.ip)}`;
    const refused = budget.attempt([
      { key: caller, max: PER_CALLER, windowMs: WINDOW_MS },
      { key: '*', max: OVERALL, windowMs: WINDOW_MS },
    ]);
    // Past a budget, one entry per caller and window says that more of its denials went unwritten:
    // with their own overall budget, callers who spent the shared one cannot hide the next caller.
    const suppressed =
      refused !== null &&
      budget.attempt([
        { key: `suppressed:${caller}`, max: 1, windowMs: WINDOW_MS },
        { key: '*suppressed', max: OVERALL, windowMs: WINDOW_MS },
      ]) === null;
    if (refused !== null && !suppressed) return;
    try {
      await audit.record({
        action: suppressed ? 'access.denied_suppressed' : 'access.denied',
        actorId,
        ...(error instanceof AccessDenied ? { targetType: error.target.type, targetId: error.target.id } : {}),
        ip: request.ip,
        details: { code: error.code, status: error.status, method: request.method, route: routeOf(request) },
      });
    } catch (err) {
      // The answer goes out regardless; losing the entry is logged, not turned into a 500.
      request.log.error({ err }, 'could not record an access denial in the audit log');
    }
  });
}

function routeOf(request: FastifyRequest): string | null {
  return request.routeOptions.url ?? null;
}
