/**
 * The integer a raw event keeps of a device (or session): 48 bits of its keyed hash (a uniform
 * HMAC, base64url; store/device-ids.ts). Integers, not the hash's 32 characters: the rollup reads
 * and counts millions of them, and an integer costs no string to make. 48 bits stay exact in a JS
 * number; two of a million devices share a key with a chance of about 1 in 500 000 000, and then
 * count as one and are erased together.
 */
export function telemetryKey(hash: string): number {
  return Buffer.from(hash.slice(0, 8), 'base64url').readUIntBE(0, 6);
}
