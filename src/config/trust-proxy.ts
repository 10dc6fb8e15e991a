import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Whose X-Forwarded-For the portal believes: nobody, the nearest `n` hops, or the listed proxy
 * addresses. Fastify's trustProxy takes all three. Believing everybody is not offered: any client
 * could then name its own IP, to the rate limits and to the audit log.
 */
export type TrustProxy = false | number | readonly string[];

/** proxy-addr's named ranges: 127.0.0.0/8 and ::1; 169.254.0.0/16 and fe80::/10; 10/8, 172.16/12, 192.168/16 and fc00::/7. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

const EXPECTED =
  'false, a number of proxy hops in front of the portal (e.g. 1), or a comma-separated list of proxy addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8, or loopback, linklocal, uniquelocal)';

export const trustProxySchema = z
  .string()
  .trim()
  .transform((value, ctx): TrustProxy => {
    const lower = value.toLowerCase();
    if (lower === 'false' || lower === 'no' || lower === '0') return false;
    if (lower === 'true' || lower === 'yes') {
      ctx.addIssue({ code: 'custom', message: `${EXPECTED}; "true" is refused because it trusts an X-Forwarded-For from anyone, so every client could choose its own IP` });
      return z.NEVER;
    }
    if (/^\d+$/.test(lower)) {
      const hops = Number(lower);
      if (hops <= 32) return hops;
    }
    const entries = lower.split(',').map((entry) => entry.trim());
    if (entries.every(isProxyAddress)) return entries;
    ctx.addIssue({ code: 'custom', message: EXPECTED });
    return z.NEVER;
  });

function isProxyAddress(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
