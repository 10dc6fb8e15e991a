import { setTimeout as delay } from 'node:timers/promises';

export interface ProbeOptions {
  /** A value younger than this is answered without reading again. */
  maxAgeMs: number;
  /** How long a scrape waits for a read; past it, the last value is answered and the read goes on. */
  waitMs: number;
  /** Wait for a read only while there is no value yet: a slow walk never holds up later scrapes. */
  waitOnlyForFirst?: boolean;
  /** The next read waits at least this many times the last read's duration (a slow walk runs rarely). */
  backoffFactor?: number;
  /** A read failed: logged and counted by the caller. */
  onError: (err: unknown) => void;
  now?: () => number;
}

/**
 * A gauge's source read at scrape time, bounded: at most one read at a time (a scrape that arrives
 * while one runs joins it, so slow reads never pile up), none again while the last value is fresh,
 * and a scrape never waits longer than `waitMs` for it: it answers the last value instead (none
 * before the first read finishes). The answer of a slow read lands for the next scrape.
 */
export class Probe<T> {
  private value: T | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private nextReadAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: ProbeOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** When the answered value was read (`now()` time), or -Infinity before the first. */
  get measuredAt(): number {
    return this.readAt;
  }

  async get(): Promise<T | undefined> {
    const now = this.now();
    if (this.reading === undefined && now - this.readAt >= this.options.maxAgeMs && now >= this.nextReadAt) {
      this.reading = this.refresh(now).finally(() => (this.reading = undefined));
    }
    if (this.reading !== undefined && !(this.options.waitOnlyForFirst === true && this.value !== undefined)) {
      const abort = new AbortController();
      await Promise.race([this.reading, delay(this.options.waitMs, undefined, { signal: abort.signal, ref: false }).catch(() => undefined)]);
      abort.abort();
    }
    return this.value;
  }

  private async refresh(started: number): Promise<void> {
    try {
      this.value = await this.read();
      this.readAt = this.now();
    } catch (err) {
      this.options.onError(err);
    } finally {
      const took = this.now() - started;
      this.nextReadAt = started + Math.max(this.options.maxAgeMs, took * (this.options.backoffFactor ?? 0));
    }
  }
}
