import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import type { Clock } from '../shared/index.js';
import type { Budget, RateLimits } from './rate-limit.js';

/** Expired counters deleted per statement by sweep(), and statements per sweep at most. */
const SWEEP_BATCH = 5000;
const SWEEP_BATCHES = 20;

/** Thrown inside the transaction to roll a refused attempt's counts back. */
class Refused extends Error {
  constructor(readonly until: number) {
    super('refused');
  }
}

/**
 * The fixed-window counters of the `rate_limits` table, shared by every instance on one PostgreSQL
 * database, with the in-memory limiter's rules: an attempt draws on all its budgets or on none (a
 * refused attempt counts nowhere), and a refusal says how many seconds to wait.
 *
 * One short transaction: a single `insert … on conflict do update … returning` adds one to every
 * budget's counter (starting a new window in place of an ended one) and returns the counts; when
 * any is over its budget the transaction rolls back. The row locks it takes serialize concurrent
 * attempts on one key across instances, so no window ever admits more than its budget; keys are
 * locked in sorted order, so two attempts sharing budgets never deadlock.
 *
 * Each attempt touches one row per budget (a handful), and keys are stored as SHA-256 hashes: no
 * caller can make a row long, and no email address is kept. Rows past their window are deleted by
 * sweep(), a bounded batch at a time.
 */
export class PostgresRateLimits implements RateLimits {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * Sweeps every `intervalMs` until stop(). A timer on each instance rather than a recurring job:
   * the delete is idempotent and bounded, and it takes no job slot from the portal's own jobs.
   */
  startSweeping(intervalMs: number, log: { error(details: object, message: string): void }): void {
    this.timer ??= setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(() => undefined, (err: unknown) => log.error({ err }, 'could not sweep ended rate-limit windows'))
        .finally(() => (this.sweeping = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops sweeping; resolves when a sweep under way has finished. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  async attempt(budgets: readonly Budget[]): Promise<number | null> {
    if (budgets.length === 0) return null;
    const now = this.clock.now().getTime();
    // One row per key: the same key twice in an attempt counts once, against the smaller budget.
    const byKey = new Map<string, Budget>();
    for (const budget of budgets) {
      const key = hashKey(budget.key);
      const seen = byKey.get(key);
      byKey.set(key, seen === undefined ? budget : { key: budget.key, max: Math.min(seen.max, budget.max), windowMs: Math.max(seen.windowMs, budget.windowMs) });
    }
    const rows = [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, b]) => sql`(${key}, ${now + b.windowMs}::bigint)`);
    try {
      await this.db.transaction().execute(async (trx) => {
        const { rows: counted } = await sql<{ key: string; count: number; window_end: number | string }>`
          insert into rate_limits (key, count, window_end)
          select v.key, 1, v.window_end from (values ${sql.join(rows)}) as v(key, window_end) order by v.key
          on conflict (key) do update set
            count = case when rate_limits.window_end <= ${now}::bigint then 1 else rate_limits.count + 1 end,
            window_end = case when rate_limits.window_end <= ${now}::bigint then excluded.window_end else rate_limits.window_end end
          returning key, count, window_end`.execute(trx);
        let until = 0;
        for (const row of counted) {
          const budget = byKey.get(row.key);
          if (budget !== undefined && row.count > budget.max) until = Math.max(until, Number(row.window_end));
        }
        if (until > 0) throw new Refused(until);
      });
      return null;
    } catch (err) {
      if (err instanceof Refused) return Math.max(1, Math.ceil((err.until - now) / 1000));
      throw err;
    }
  }

  /** Deletes counters whose window has ended, in bounded batches; returns how many went. */
  async sweep(): Promise<number> {
    const now = this.clock.now().getTime();
    let deleted = 0;
    for (let i = 0; i < SWEEP_BATCHES; i += 1) {
      // window_end is tested on the row itself too: a concurrent attempt may have just renewed it.
      const result = await sql`
        delete from rate_limits where window_end <= ${now}::bigint
          and key in (select key from rate_limits where window_end <= ${now}::bigint limit ${SWEEP_BATCH})`.execute(this.db);
      const n = Number(result.numAffectedRows ?? 0);
      deleted += n;
      if (n < SWEEP_BATCH) break;
    }
    return deleted;
  }
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
