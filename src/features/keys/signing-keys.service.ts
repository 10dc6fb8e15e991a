import type { KeyObject } from 'node:crypto';
import { isUniqueViolation, type Db } from '../../db/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { fingerprint, KeyFormatError, parsePublicKey, rawPublicKey } from '../../package/keys.js';
import { assertNotAppRestricted, type Actor, type Clock, type Ids } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import type { SigningKey } from './keys.table.js';
import * as repo from './signing-keys.repository.js';
import type { SigningKeyResponse } from './signing-keys.schemas.js';
import { keysError, keysErrors } from './keys.errors.js';

export interface SigningKeysDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
}

const NOT_YOURS = 'No active signing key with this id belongs to you.';

export class SigningKeysService {
  constructor(private readonly deps: SigningKeysDeps) {}

  /**
   * A public key is unique per developer, not portal-wide: nothing proves the caller holds the
   * private half, so a portal-wide claim would let anyone squat another developer's key and keep
   * them from registering it. Holding someone's public key gains nothing: a package is accepted
   * for an app only when signed by a key of that app's owner, and only the key's holder can sign.
   */
  async register(actor: Actor, input: { name: string; public_key: string }, ip: string | null): Promise<SigningKeyResponse> {
    assertNotAppRestricted(actor);
    let key: KeyObject;
    try {
      key = parsePublicKey(input.public_key);
    } catch (err) {
      if (!(err instanceof KeyFormatError)) throw err;
      throw keysError('invalid_public_key', `The public key is not usable: ${err.message}.`, [
        { path: 'body.public_key', message: err.message },
      ]);
    }
    const row: SigningKey = {
      id: this.deps.ids.id(),
      owner_id: actor.userId,
      name: input.name,
      public_key: rawPublicKey(key).toString('base64'),
      fingerprint: fingerprint(key),
      created_at: this.deps.clock.now().toISOString(),
      revoked_at: null,
    };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await repo.insertSigningKey(trx, row);
        await this.deps.audit.record(
          { action: 'signing_key.registered', actorId: actor.userId, targetType: 'signing_key', targetId: row.id, ip, details: { name: row.name, fingerprint: row.fingerprint } },
          trx,
        );
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw keysError('signing_key_exists', 'You have already registered this public key.');
      throw err;
    }
    return toResponse(row);
  }

  async list(actor: Actor, query: { limit: number; cursor?: string }): Promise<Page<SigningKeyResponse>> {
    assertNotAppRestricted(actor);
    const rows = await repo.listSigningKeys(this.deps.db, actor.userId, { before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (k) => k.id, toResponse);
  }

  /** Revoked keys stay listed (with revoked_at) so the developer can see what signed old versions. */
  async revoke(actor: Actor, id: string, ip: string | null): Promise<void> {
    assertNotAppRestricted(actor);
    await this.deps.db.transaction().execute(async (trx) => {
      const revoked = await repo.revokeSigningKey(trx, actor.userId, id, this.deps.clock.now().toISOString());
      if (revoked) {
        await this.deps.audit.record({ action: 'signing_key.revoked', actorId: actor.userId, targetType: 'signing_key', targetId: id, ip }, trx);
        return;
      }
      const owner = await repo.signingKeyOwner(trx, id);
      // Someone else's key answers like a missing one, and is audited as a denial.
      if (owner !== null && owner !== actor.userId) throw keysErrors.denied('signing_key_not_found', NOT_YOURS, { type: 'signing_key', id });
      throw keysError('signing_key_not_found', NOT_YOURS);
    });
  }

  /** The public keys that may sign packages of this owner's apps. */
  async activeKeys(ownerId: string): Promise<KeyObject[]> {
    const rows = await repo.activeSigningKeys(this.deps.db, ownerId);
    return rows.map((r) => parsePublicKey(r.public_key));
  }
}

function toResponse(row: SigningKey): SigningKeyResponse {
  return {
    id: row.id,
    name: row.name,
    fingerprint: row.fingerprint,
    public_key: row.public_key,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}
