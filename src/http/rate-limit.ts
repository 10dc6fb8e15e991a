import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { commonError, type Clock } from '../shared/index.js';

/** Most counters kept at once; a flood of distinct keys (random emails, rotating IPs) stops here. */
const MAX_COUNTERS = 50_000;

/** One budget an attempt draws on: `max` attempts per `windowMs` for this key. */
export interface Budget {
  key: string;
  max: number;
  windowMs: number;
}

interface Counter {
  end: number;
  count: number;
  max: number;
}

/**
 * Fixed-window counters in memory, for one process: the portal's shared budgets on SQLite (one
 * process by design) and, on any database, the limits that stay per instance on purpose (the
 * store's and telemetry's per-address limits, the audit log's denial budget: see README.md).
 * Time comes from the injected clock so tests can step past a window.
 *
 * The counters that are refusing someone (limiting) are what the limiter is for, so nothing an
 * attacker sends may push them out: a refused attempt counts nowhere and creates no counter, and
 * when the table is full only expired and non-limiting counters make room. If every counter is
 * limiting, new keys are refused until the first window ends rather than forgetting one.
 */
export class RateLimiter {
  private readonly counters = new Map<string, Counter>();
  /** While the table is full of limiting counters, new keys are refused until then (no rescans). */
  private fullUntil = 0;

  constructor(
    private readonly clock: Clock,
    private readonly capacity = MAX_COUNTERS,
  ) {}

  /** Counts one attempt; returns the seconds to wait when the attempt is over the limit. */
  hit(key: string, max: number, windowMs: number): number | null {
    return this.attempt([{ key, max, windowMs }]);
  }

  /**
   * One attempt against several budgets together: refused (seconds to wait) when any is spent or
   * there is no room to count it, and then counted against none of them; otherwise counted in all.
   */
  attempt(budgets: readonly Budget[]): number | null {
    const now = this.clock.now().getTime();
    let waitUntil = 0;
    let fresh = 0;
    for (const budget of budgets) {
      const counter = this.live(budget.key, now);
      if (!counter) fresh += 1;
      else if (counter.count >= budget.max) waitUntil = Math.max(waitUntil, counter.end);
    }
    if (waitUntil === 0 && fresh > 0) waitUntil = this.makeRoom(fresh, now);
    if (waitUntil > 0) return Math.max(1, Math.ceil((waitUntil - now) / 1000));
    for (const budget of budgets) {
      let counter = this.live(budget.key, now);
      if (!counter) {
        counter = { end: now + budget.windowMs, count: 0, max: budget.max };
        this.counters.set(budget.key, counter);
      }
      counter.count += 1;
      counter.max = budget.max;
    }
    return null;
  }

  private live(key: string, now: number): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && now >= counter.end) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  /** Returns 0 when `needed` new counters fit, else the time until one may. */
  private makeRoom(needed: number, now: number): number {
    if (this.counters.size + needed <= this.capacity) return 0;
    if (now < this.fullUntil) return this.fullUntil;
    for (const [key, counter] of this.counters) if (now >= counter.end) this.counters.delete(key);
    // Oldest first (a Map iterates in insertion order), down to 90% so the next sweep is thousands
    // of new keys away; a limiting counter is never among them.
    for (const [key, counter] of this.counters) {
      if (this.counters.size <= this.capacity * 0.9) break;
      if (counter.count < counter.max) this.counters.delete(key);
    }
    if (this.counters.size + needed <= this.capacity || this.counters.size === 0) return 0;
    // Every counter left is limiting: none expires, and none is added, before the earliest ends.
    let earliest = Infinity;
    for (const counter of this.counters.values()) earliest = Math.min(earliest, counter.end);
    this.fullUntil = earliest;
    return earliest;
  }
}

/**
 * What a per-address budget counts: an IPv4 address as it is, an IPv6 address by its /64 network.
 * One IPv6 customer, host or container is routinely handed a whole /64 (2^64 addresses): counted
 * per address, every request could come from a fresh one, and a per-IP budget would limit nothing.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d, a dual-stack socket) counts as its IPv4 address.
 */
export function clientBudgetKey(ip: string): string {
  const address = ip.split('%')[0] ?? ip;
  if (isIP(address) !== 6) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A dotted IPv4 tail fills the last two groups.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Where the budgets of the sign-in, OAuth and device-grant routes are counted: in memory
 * (MemoryRateLimits, SQLite) or in PostgreSQL (PostgresRateLimits, rate-limit-pg.ts), where every
 * instance on the database counts in the same rows. Same rules either way (RateLimiter.attempt).
 */
export interface RateLimits {
  /** Seconds to wait when refused (then counted nowhere); null when counted in every budget. */
  attempt(budgets: readonly Budget[]): Promise<number | null>;
}

/** RateLimits in this process's memory. */
export class MemoryRateLimits implements RateLimits {
  private readonly limiter: RateLimiter;

  constructor(clock: Clock, capacity?: number) {
    this.limiter = new RateLimiter(clock, capacity);
  }

  attempt(budgets: readonly Budget[]): Promise<number | null> {
    return Promise.resolve(this.limiter.attempt(budgets));
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
 * validation so per-account rules can read the body, and counts every attempt it lets through,
 * good or bad; a refused one counts against no rule (it would only feed junk counters).
 *
 * When the attempt cannot be counted (the database is away) it fails closed: 503
 * rate_limits_unavailable with Retry-After, never an uncounted password guess.
 */
export function rateLimit(limiter: RateLimits, rules: readonly RateRule[]): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const budgets: Budget[] = [];
    for (const rule of rules) {
      const key = rule.key(request);
      if (key !== null) budgets.push({ key: `${rule.name}:${key}`, max: rule.max, windowMs: rule.windowMs });
    }
    let wait: number | null;
    try {
      wait = await limiter.attempt(budgets);
    } catch (err) {
      request.log.error({ err }, 'could not count an attempt against its rate limits');
      void reply.header('retry-after', '5');
      throw commonError('rate_limits_unavailable');
    }
    if (wait !== null) {
      void reply.header('retry-after', String(wait));
      throw commonError('rate_limited', `Too many attempts; retry after ${wait} seconds.`);
    }
  };
}
