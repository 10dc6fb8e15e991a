import { z } from 'zod';

export const createSigningKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    public_key: z.string().min(1).max(4096).describe('Base64 of the raw 32-byte Ed25519 public key, or a PEM public key'),
  })
  .strict();

export const signingKeyParams = z.object({ id: z.string().min(1).max(64) });

export const signingKeyResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    fingerprint: z.string(),
    public_key: z.string(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'SigningKey' });

export type SigningKeyResponse = z.infer<typeof signingKeyResponse>;
