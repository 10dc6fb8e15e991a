import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { signEd25519Stream } from './stream-sign.js';

function chunks(message: Buffer, size: number): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < message.length; i += size) parts.push(message.subarray(i, i + size));
  return Readable.from(parts);
}

describe('signEd25519Stream', () => {
  it('makes exactly the signature node:crypto makes over the whole message, in any chunking', async () => {
    for (const length of [0, 1, 63, 64, 1000, 300_000]) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const message = randomBytes(length);
      const expected = sign(null, message, privateKey);
      for (const size of [1, 7, 4096, 1 << 20]) {
        if (size === 1 && length > 1000) continue;
        const signature = await signEd25519Stream(privateKey, () => chunks(message, size));
        expect(signature.equals(expected), `length ${length}, chunks of ${size}`).toBe(true);
      }
      expect(verify(null, message, publicKey, expected)).toBe(true);
    }
  });

  it('refuses to sign when the second read sees other bytes than the first (the nonce would leak the key)', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    let reads = 0;
    const changing = () => {
      reads += 1;
      return chunks(Buffer.from(reads === 1 ? 'index version one' : 'index version two'), 4);
    };
    await expect(signEd25519Stream(privateKey, changing)).rejects.toThrow('the message changed while it was signed');
  });

  it('refuses a key that is not Ed25519', async () => {
    const { privateKey } = generateKeyPairSync('x25519');
    await expect(signEd25519Stream(privateKey, () => chunks(Buffer.from('x'), 1))).rejects.toThrow();
  });
});
