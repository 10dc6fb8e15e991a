import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/**
 * The guard of requests the portal makes on someone else's say-so (webhooks now, OAuth discovery
 * later): they must not reach the portal's own network. The host is resolved once, every address
 * it has is checked, and the connection is then pinned to the checked address, so a name that
 * resolves to a public address for the check and to 10.0.0.1 for the connection (DNS rebinding)
 * gains nothing.
 */

/** A resolved address, as dns.lookup gives it. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address of a host name; injected so tests map names without real DNS. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) => {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** The addresses of this machine's interfaces, normalized: the portal never calls itself. */
export function ownAddresses(): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const parsed = parse(a.address);
      if (parsed) own.add(parsed.toNormalizedString());
    }
  }
  return own;
}

/**
 * Why `address` may not be reached, or null when it is a public unicast address. IPv4-mapped IPv6
 * (::ffff:a.b.c.d) is judged as the IPv4 address it is; 6to4, Teredo and NAT64 addresses by the
 * IPv4 address they carry. IPv6 must be global unicast (2000::/3); everything else, including
 * the deprecated IPv4-compatible ::a.b.c.d, is refused. `own`: normalized addresses of this host.
 */
export function addressRefusal(address: string, own: ReadonlySet<string> = new Set()): string | null {
  const parsed = parse(address);
  if (!parsed) return `${address} is not an IP address`;
  const why = rangeRefusal(address, parsed, own);
  if (why !== null) return why;
  return own.has(parsed.toNormalizedString()) ? `${address} is an address of the portal itself` : null;
}

/** The rule by range; an embedded IPv4 address is judged whole, the portal's own included. */
function rangeRefusal(address: string, parsed: ipaddr.IPv4 | ipaddr.IPv6, own: ReadonlySet<string>): string | null {
  if (parsed.kind() === 'ipv4') {
    const range = parsed.range();
    return range === 'unicast' ? null : `${address} is a ${describeRange(range)} address`;
  }
  const v6 = parsed as ipaddr.IPv6;
  const range = v6.range();
  const embedded = embeddedIPv4(v6, range);
  if (embedded) {
    const inner = addressRefusal(embedded.toString(), own);
    return inner === null ? null : `${address} carries ${embedded.toString()}, which is refused: ${inner}`;
  }
  if (range !== 'unicast') return `${address} is a ${describeRange(range)} address`;
  // Only 2000::/3 is handed out as global unicast; ipaddr.js calls the rest "unicast" too.
  if ((v6.parts[0] ?? 0) >> 13 !== 1) return `${address} is not a global unicast address`;
  return null;
}

/**
 * `hostname` (a URL's: IPv6 literals in brackets) resolved to the one address to connect to.
 * Throws OutboundRefused when any of its addresses is refused: a name with one private address
 * among public ones could be steered to it. With `allowPrivate` the rule is lifted (a LAN, tests),
 * and the connection is still pinned to what was resolved.
 */
export async function checkedAddress(
  hostname: string,
  options: {
    allowPrivate: boolean;
    resolve?: HostResolver;
    own?: () => ReadonlySet<string>;
    /** Addresses let through whatever the rule says (a test's receiver); the rule still judges the rest. */
    exempt?: (address: string) => boolean;
  },
): Promise<ResolvedAddress> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (err) {
      throw new OutboundRefused(`${host} could not be resolved (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
    if (addresses.length === 0) throw new OutboundRefused(`${host} has no address`);
  }
  if (!options.allowPrivate) {
    const own = (options.own ?? ownAddresses)();
    for (const { address } of addresses) {
      if (options.exempt?.(address)) continue;
      const why = addressRefusal(address, own);
      if (why !== null) // Which address is not said: the delivery log would map the portal's own network for its reader.
      throw new OutboundRefused(literal === 0 ? `${host} resolves to an address that may not be reached (${why})` : `${why}, which may not be reached`);
    }
  }
  return addresses[0] as ResolvedAddress;
}

/**
 * A `lookup` for node:http(s) that answers the checked address whatever it is asked, so the
 * connection goes where the check looked while TLS (SNI, certificate) and Host keep the name.
 * Node 20 asks with `all: true` (happy eyeballs), older code paths without.
 */
export function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
}

/** The request was not made: its address is not one the portal may reach. */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (isIP(address.split('%')[0] ?? '') === 0) return null;
  // ipaddr.js reads any IPv6 address with a dotted tail as IPv4-mapped (::10.0.0.1 as
  // ::ffff:10.0.0.1): written as hex groups first, it is read as the address it is.
  const plain = address.includes(':') ? address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) => `${hex(a, b)}:${hex(c, d)}`) : address;
  try {
    // process(): an IPv4-mapped IPv6 address comes back as the IPv4 address it maps.
    return ipaddr.process(plain);
  } catch {
    return null;
  }
}

function hex(high: string, low: string): string {
  return ((Number(high) << 8) | Number(low)).toString(16);
}

/** The IPv4 address a 6to4, Teredo or NAT64 (RFC 6052) address would reach, if it is one. */
function embeddedIPv4(address: ipaddr.IPv6, range: string): ipaddr.IPv4 | null {
  const bytes = address.toByteArray();
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  // Teredo: the client's address, every bit inverted, in the last 32 bits.
  if (range === 'teredo') return new ipaddr.IPv4(bytes.slice(12, 16).map((b) => b ^ 0xff));
  // NAT64's well-known 64:ff9b::/96 only; the local-use 64:ff9b:1::/48 is refused as a whole.
  if (range === 'rfc6052' && address.parts[2] === 0) return new ipaddr.IPv4(bytes.slice(12, 16));
  return null;
}

const RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique local',
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated',
  benchmarking: 'benchmarking',
};

function describeRange(range: string): string {
  return RANGE_WORDS[range] ?? `special-purpose (${range})`;
}
