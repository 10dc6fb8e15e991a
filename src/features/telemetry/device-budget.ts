import { RateLimiter } from '../../http/rate-limit.js';

const MINUTE_MS = 60_000;

/**
 * Each device's budget of telemetry requests a minute (events, crash reports, erasure together),
 * counted in the telemetry thread by the device's keyed hash: the thread is where a batch's device
 * id is first read, and raw ids are not kept, not even as counter keys. A table of its own: a
 * flood of made-up device ids never pushes the sign-in limits' counters out.
 */
export class DeviceBudget {
  /** The time of the request being charged: the caller's clock (tests step it), not this thread's. */
  private now = 0;
  private readonly limiter = new RateLimiter({ now: () => new Date(this.now) });

  /** perMinute 0: no limit. */
  constructor(private readonly perMinute: number) {}

  /** Charges one request; the seconds to wait when the device has spent its minute. */
  charge(deviceHash: string, now: number): number | null {
    if (this.perMinute === 0) return null;
    this.now = now;
    return this.limiter.hit(`device:${deviceHash}`, this.perMinute, MINUTE_MS);
  }
}
