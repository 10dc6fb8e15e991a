import { createHash, type KeyObject } from 'node:crypto';

/**
 * Ed25519 (RFC 8032, pure, not prehashed) over a message read as a stream, twice, instead of held
 * in memory: the signature is byte for byte what node:crypto's sign(null, message, key) makes, and
 * any Ed25519 verifier checks it. The signed store index is hundreds of megabytes at the seed's
 * catalog size; signing it must not double the portal's memory.
 *
 * r = SHA-512(prefix ‖ M) mod L, R = rB, k = SHA-512(R ‖ A ‖ M) mod L, S = r + k·a mod L.
 */
export async function signEd25519Stream(privateKey: KeyObject, read: () => AsyncIterable<Buffer>): Promise<Buffer> {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 private key');
  // Loaded when first needed: building the curve takes a tenth of a second of every start otherwise.
  const { ed25519 } = await import('@noble/curves/ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  const { prefix, scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
  const L = ed25519.CURVE.n;
  const first = await sha512(prefix, read());
  const r = mod(littleEndian(first.digest), L);
  const R = ed25519.ExtendedPoint.BASE.multiply(r).toRawBytes();
  const second = await sha512(Buffer.concat([R, pointBytes]), read());
  // The nonce came from the first read: were the second read's bytes other, the signature (with
  // another signature over them) would give the private key away. Refuse instead.
  if (!first.content.equals(second.content)) throw new Error('the message changed while it was signed');
  const k = mod(littleEndian(second.digest), L);
  const S = mod(r + k * scalar, L);
  return Buffer.concat([Buffer.from(R), toLittleEndian(S, 32)]);
}

/** SHA-512 of head ‖ message, and a SHA-256 of the message alone to compare the two reads. */
async function sha512(head: Uint8Array, message: AsyncIterable<Buffer>): Promise<{ digest: Buffer; content: Buffer }> {
  const hash = createHash('sha512').update(head);
  const content = createHash('sha256');
  for await (const chunk of message) {
    hash.update(chunk);
    content.update(chunk);
  }
  return { digest: hash.digest(), content: content.digest() };
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r >= 0n ? r : r + m;
}

function littleEndian(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
}

function toLittleEndian(n: bigint, length: number): Buffer {
  return Buffer.from(n.toString(16).padStart(length * 2, '0'), 'hex').reverse();
}
