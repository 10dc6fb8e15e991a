/** How long a failed job waits before its next attempt. */
export interface Backoff {
  /** Delay after the first failure; each further failure doubles it. */
  readonly baseMs: number;
  /** The doubling stops here. */
  readonly maxMs: number;
}

export const defaultBackoff: Backoff = { baseMs: 5_000, maxMs: 60 * 60 * 1000 };

/**
 * Exponential backoff with "equal jitter": half the capped delay is fixed, half is random, so jobs
 * that failed together (an SMTP outage) do not all come back in the same second, yet none comes
 * back sooner than half its delay. `random` returns [0, 1) like Math.random.
 */
export function retryDelayMs(failedAttempts: number, backoff: Backoff, random: () => number): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 40);
  const capped = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return Math.round(capped / 2 + (capped / 2) * random());
}
