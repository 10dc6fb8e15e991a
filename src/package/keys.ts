import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Developer and store signing keys are Ed25519. A key's fingerprint (the `key_id` in CERT.SIG) is
 * the lowercase hex SHA-256 of its raw 32-byte public key.
 */
export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError';
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Parses a public key given as base64 of the raw 32 bytes or as a PEM SubjectPublicKeyInfo. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey(trimmed);
    } else {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new KeyFormatError('not base64');
      const raw = Buffer.from(trimmed, 'base64');
      if (raw.length !== 32) throw new KeyFormatError(`a raw Ed25519 public key is 32 bytes, this is ${raw.length}`);
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    }
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    throw new KeyFormatError('not a PEM public key or base64 of a raw 32-byte Ed25519 key');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'an unknown type'}`);
  }
  return key;
}

/** The raw 32 bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

export function fingerprint(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex');
}
