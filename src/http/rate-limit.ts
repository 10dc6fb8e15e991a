import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AppError, type Clock } from '../shared/index.js';

/**
 * Fixed-window counters in memory. One process serves a NAS; behind several instances each keeps
 * its own counts, which only makes the limit per instance, never looser than configured per box.
 * Time comes from the injected clock so tests can step past a window.
 */
const MAX_COUNTERS = 50_000;

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly clock: Clock) {}

  /** Counts one attempt; returns the seconds to wait when the attempt is over the limit. */
  hit(key: string, max: number, windowMs: number): number | null {
    const now = this.clock.now().getTime();
    if (this.windows.size >= MAX_COUNTERS) this.sweep(now, windowMs);
    let window = this.windows.get(key);
    if (!window || now - window.start >= windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= max) return null;
    return Math.max(1, Math.ceil((window.start + windowMs - now) / 1000));
  }

  private sweep(now: number, windowMs: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= windowMs) this.windows.delete(key);
    // A flood of distinct keys inside one window (random emails) must not grow memory without
    // bound: past the cap the oldest counters go first (a Map iterates in insertion order), down
    // to 90% so the next sweep is thousands of attempts away.
    for (const key of this.windows.keys()) {
      if (this.windows.size <= MAX_COUNTERS * 0.9) break;
      this.windows.delete(key);
    }
  }
}

export interface RateRule {
  /** Names the counter, e.g. `login:ip`; two routes sharing a name share the budget. */
  name: string;
  max: number;
  windowMs: number;
  /** The thing counted (an IP, an email, a user id); null skips the rule for this request. */
  key(request: FastifyRequest): string | null;
}

/**
 * A preHandler that answers 429 with Retry-After once any rule's budget is spent. It runs after
 * validation so per-account rules can read the body, and counts every attempt, good or bad.
 */
export function rateLimit(limiter: RateLimiter, rules: readonly RateRule[]): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    let wait = 0;
    for (const rule of rules) {
      const key = rule.key(request);
      if (key === null) continue;
      const retryAfter = limiter.hit(`${rule.name}:${key}`, rule.max, rule.windowMs);
      if (retryAfter !== null) wait = Math.max(wait, retryAfter);
    }
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new AppError('rate_limited', 429, `Too many attempts; retry after ${wait} seconds.`);
    }
  };
}
