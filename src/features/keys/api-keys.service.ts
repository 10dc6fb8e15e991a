import type { Db, Executor } from '../../db/index.js';
import { decodeCursor, toPage, type Page } from '../../shared/pagination.js';
import { assertNotAppRestricted, commonError, sha256Hex, type Actor, type Clock, type Ids, type Scope } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import * as repo from './api-keys.repository.js';
import type { ApiKeyResponse, CreateApiKeyInput, CreatedApiKeyResponse } from './api-keys.schemas.js';
import type { ApiKey } from './api-keys.table.js';
import { keysError } from './keys.errors.js';

export const API_KEY_PREFIX = 'mk_live_';
const PREFIX_SHOWN = API_KEY_PREFIX.length + 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// 62^43 > 2^256: every 32-byte value fits in 43 base62 digits, so keys have one fixed length.
const KEY_DIGITS = 43;
// last_used_at is a hint for the owner, not a ledger: writing it at most once a minute keeps a busy
// CI key from turning every read into a write.
const TOUCH_INTERVAL_MS = 60_000;

export interface ApiKeysDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  /** Throws (app_not_found) unless the actor owns the app; the apps feature answers this. */
  assertOwnsApp(actor: Actor, appId: string): Promise<unknown>;
}

/** What a valid key lets its bearer do; the owner's row is checked by the authenticator. */
export interface ApiKeyGrant {
  keyId: string;
  ownerId: string;
  scopes: Scope[];
  appIds: string[] | null;
  /** When the key stops working; null: never. Keys it mints expire no later. */
  expiresAt: string | null;
}

const invalidKey = () => commonError('unauthorized', 'The API key is invalid, expired or revoked.');

export class ApiKeysService {
  constructor(private readonly deps: ApiKeysDeps) {}

  /** `within`: a transaction of the caller's to create the key in (the device grant hands one over in its own). */
  async create(actor: Actor, input: CreateApiKeyInput, ip: string | null, within?: Executor): Promise<CreatedApiKeyResponse> {
    assertNotAppRestricted(actor);
    const now = this.deps.clock.now();
    // A key acting for its owner may mint keys, but never one that can do more than itself.
    if (actor.scopes !== null) {
      const beyond = input.scopes.filter((s) => !actor.scopes?.includes(s));
      if (beyond.length > 0) {
        throw commonError('insufficient_scope', `This API key cannot grant scopes it does not have: ${beyond.join(', ')}.`);
      }
    }
    // A key that mints a key cannot make one that outlives itself: without expires_at the new key
    // ends with its parent, and a later expires_at is refused rather than quietly shortened.
    const parentExpiry = actor.scopes === null ? null : (actor.apiKey?.expiresAt ?? null);
    let expiresAt = parentExpiry;
    if (input.expires_at !== undefined) {
      const at = new Date(input.expires_at);
      if (at.getTime() <= now.getTime()) {
        throw keysError('invalid_expiry', 'expires_at must be in the future.', [{ path: 'body.expires_at', message: 'must be in the future' }]);
      }
      if (parentExpiry !== null && at.getTime() > Date.parse(parentExpiry)) {
        throw keysError('expiry_beyond_parent_key', `A key cannot outlive the API key that creates it; expires_at must be at or before ${parentExpiry}.`, [
          { path: 'body.expires_at', message: `must be at or before ${parentExpiry}` },
        ]);
      }
      expiresAt = at.toISOString();
    }
    const appIds = input.app_ids ? [...new Set(input.app_ids)] : null;
    for (const appId of appIds ?? []) await this.deps.assertOwnsApp(actor, appId);

    const key = API_KEY_PREFIX + base62(Buffer.from(this.deps.ids.secret(32), 'base64url'));
    const row: ApiKey = {
      id: this.deps.ids.id(),
      owner_id: actor.userId,
      name: input.name,
      prefix: key.slice(0, PREFIX_SHOWN),
      key_hash: sha256Hex(key),
      scopes: JSON.stringify([...new Set(input.scopes)]),
      app_ids: appIds ? JSON.stringify(appIds) : null,
      expires_at: expiresAt,
      last_used_at: null,
      created_at: now.toISOString(),
      revoked_at: null,
      parent_key_id: actor.apiKey?.id ?? null,
    };
    const insert = async (trx: Executor) => {
      await repo.insertApiKey(trx, row);
      await this.deps.audit.record(
        { action: 'api_key.created', actorId: actor.userId, targetType: 'api_key', targetId: row.id, ip, details: { prefix: row.prefix, scopes: JSON.parse(row.scopes) as unknown, app_ids: appIds } },
        trx,
      );
    };
    if (within) await insert(within);
    else await this.deps.db.transaction().execute(insert);
    return { ...toResponse(row), key };
  }

  async list(actor: Actor, query: { limit: number; cursor?: string }): Promise<Page<ApiKeyResponse>> {
    assertNotAppRestricted(actor);
    const rows = await repo.listApiKeys(this.deps.db, actor.userId, { before: decodeCursor(query.cursor), limit: query.limit });
    return toPage(rows, query.limit, (k) => k.id, toResponse);
  }

  /** Someone else's key answers exactly like a missing one. */
  async revoke(actor: Actor, id: string, ip: string | null): Promise<void> {
    assertNotAppRestricted(actor);
    await this.deps.db.transaction().execute(async (trx) => {
      const revoked = await repo.revokeApiKey(trx, actor.userId, id, this.deps.clock.now().toISOString());
      if (!revoked) throw keysError('api_key_not_found', 'No active API key with this id belongs to you.');
      await this.deps.audit.record({ action: 'api_key.revoked', actorId: actor.userId, targetType: 'api_key', targetId: id, ip }, trx);
    });
  }

  /**
   * Revokes the key whoever holds it presents (RFC 7009 token revocation: `mosis logout`). Holding
   * the key is the proof; an unknown, expired or already revoked key changes nothing, and the
   * caller's answer is the same either way.
   */
  async revokePresented(key: string, ip: string | null): Promise<void> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 100) return;
    const row = await repo.findApiKeyByHash(this.deps.db, sha256Hex(key));
    if (!row || row.revoked_at !== null) return;
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.revokeApiKey(trx, row.owner_id, row.id, this.deps.clock.now().toISOString()))) return;
      await this.deps.audit.record({ action: 'api_key.revoked', actorId: row.owner_id, targetType: 'api_key', targetId: row.id, ip, details: { prefix: row.prefix, by: 'holder' } }, trx);
    });
  }

  /** The grant of a presented key; 401 for an unknown, revoked or expired one. */
  async verify(key: string): Promise<ApiKeyGrant> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 100) throw invalidKey();
    const row = await repo.findApiKeyByHash(this.deps.db, sha256Hex(key));
    const now = this.deps.clock.now();
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now.toISOString())) throw invalidKey();
    if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= TOUCH_INTERVAL_MS) {
      await repo.touchApiKey(this.deps.db, row.id, now.toISOString());
    }
    return {
      keyId: row.id,
      ownerId: row.owner_id,
      scopes: JSON.parse(row.scopes) as Scope[],
      appIds: row.app_ids === null ? null : (JSON.parse(row.app_ids) as string[]),
      expiresAt: row.expires_at,
    };
  }
}

export function isApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

function base62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(KEY_DIGITS, '0');
}

function toResponse(row: ApiKey): ApiKeyResponse {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: JSON.parse(row.scopes) as Scope[],
    app_ids: row.app_ids === null ? null : (JSON.parse(row.app_ids) as string[]),
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}
