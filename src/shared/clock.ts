/** Time comes from here so tests can pin it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** ISO-8601 UTC with milliseconds: the one timestamp format stored and served. */
export function isoNow(clock: Clock): string {
  return clock.now().toISOString();
}
