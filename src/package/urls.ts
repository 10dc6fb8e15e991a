import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Checks on literal text shared by the Lua, RML and RCSS analyses: URLs (network access is
 * HTTPS-only, to public hosts) and strings that look like hidden payloads.
 */

export interface TextProblem {
  code: 'url_insecure' | 'url_private_host' | 'string_obfuscated';
  message: string;
}

const URL_PATTERN = /\b(https?|wss?|ftp):\/\/[^\s"'<>`\\()]*/gi;
const INSECURE_SCHEMES = new Set(['http', 'ws', 'ftp']);

// Hosts a device must not be pointed at: itself, its local network, link-local and cloud metadata.
const PRIVATE_ADDRESSES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE_ADDRESSES.addSubnet(network, prefix, 'ipv4');
}
PRIVATE_ADDRESSES.addAddress('::', 'ipv6');
PRIVATE_ADDRESSES.addAddress('::1', 'ipv6');
PRIVATE_ADDRESSES.addSubnet('fc00::', 7, 'ipv6');
PRIVATE_ADDRESSES.addSubnet('fe80::', 10, 'ipv6');

/** The URLs in `text` that are plain HTTP (or ws/ftp) or point at a private or local host. */
export function checkUrls(text: string): TextProblem[] {
  const problems: TextProblem[] = [];
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0];
    const scheme = (match[1] ?? '').toLowerCase();
    const shown = url.length > 120 ? `${url.slice(0, 117)}...` : url;
    if (INSECURE_SCHEMES.has(scheme)) {
      problems.push({ code: 'url_insecure', message: `${JSON.stringify(shown)} is not HTTPS; network access is HTTPS-only` });
    }
    const host = hostOf(url);
    if (host !== null && isPrivateHost(host)) {
      problems.push({ code: 'url_private_host', message: `${JSON.stringify(shown)} points at a local or private host (${host}); network access is to public hosts only` });
    }
  }
  return problems;
}

function hostOf(url: string): string | null {
  try {
    // The WHATWG parser normalises the tricks (2130706433, 0x7f.1, trailing dots) to the real address.
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local')) return true;
  if (isIPv4(host)) return PRIVATE_ADDRESSES.check(host, 'ipv4');
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIPv6(bare) && PRIVATE_ADDRESSES.check(bare, 'ipv6');
}

const LONG_STRING = 1000;
const ENTROPY_MIN_LENGTH = 200;
const ENTROPY_BITS = 5.5;

/** Why a string literal looks like an obfuscated payload, or null. */
export function obfuscationReason(value: string): string | null {
  if (value.length > LONG_STRING) return `a string literal of ${value.length} characters (more than ${LONG_STRING}) may hide code or data`;
  if (value.length >= ENTROPY_MIN_LENGTH) {
    const bits = shannonEntropy(value);
    if (bits > ENTROPY_BITS) {
      return `a string literal of ${value.length} characters with ${bits.toFixed(2)} bits of entropy per character looks like encoded or encrypted data`;
    }
  }
  return null;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...value].length;
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
