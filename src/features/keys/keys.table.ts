import type { Selectable } from 'kysely';

/** A developer's Ed25519 public key; packages of their apps must be signed by an active one. */
export interface SigningKeysTable {
  id: string;
  owner_id: string;
  name: string;
  /** Base64 of the raw 32-byte public key. */
  public_key: string;
  /** Lowercase hex SHA-256 of the raw key: the `key_id` a package's CERT.SIG names. */
  fingerprint: string;
  created_at: string;
  revoked_at: string | null;
}

export type SigningKey = Selectable<SigningKeysTable>;
