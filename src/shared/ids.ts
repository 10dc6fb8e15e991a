import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from './clock.js';

/** Identifiers and secrets come from here so tests can make them deterministic. */
export interface Ids {
  /** A new opaque, time-ordered id (UUIDv7), so ordering by id is ordering by creation. */
  id(): string;
  /** `bytes` of cryptographic randomness, base64url encoded: for tokens shown to users. */
  secret(bytes?: number): string;
}

export function systemIds(clock: Clock): Ids {
  return {
    id: () => uuidv7({ msecs: clock.now().getTime() }),
    secret: (bytes = 32) => randomBytes(bytes).toString('base64url'),
  };
}
