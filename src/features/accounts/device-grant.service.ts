import { isUniqueViolation, type Db } from '../../db/index.js';
import { API_KEY_SCOPES, sha256Hex, type Actor, type Clock, type Ids, type Scope } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import type { ApiKeysService } from '../keys/index.js';
import type { Mailer } from '../notifications/index.js';
import { deviceSignInMail } from './account-mails.js';
import { accountsError } from './accounts.errors.js';
import * as users from './accounts.repository.js';
import type { DeviceAuthorization } from './accounts.table.js';
import * as repo from './device-grant.repository.js';

/**
 * The OAuth 2.0 Device Authorization Grant (RFC 8628) through which `mosis login` signs in: the
 * CLI asks for a code, the developer approves it on the web page /device while signed in, and the
 * CLI's next poll receives a scoped, expiring API key (never a password, never a session). The key
 * is an ordinary API key: listed, and revocable, with the account's other keys; `mosis logout`
 * revokes it through /v1/auth/revoke.
 */

/** How long a code may wait for its approval (RFC 8628 suggests minutes, not hours). */
export const DEVICE_CODE_TTL_S = 600;
/** The first polling interval, and what each slow_down adds (RFC 8628 §3.5). */
export const POLL_INTERVAL_S = 5;
const SLOW_DOWN_PENALTY_S = 5;
/** A poll this much early still counts as on time: the client's clock and the network are not exact. */
const POLL_GRACE_MS = 1_000;
/** How long the key a CLI receives works: a login a quarter of a year, then `mosis login` again. */
export const DEVICE_KEY_TTL_DAYS = 90;
/** What `mosis login` asks for when a client names no scope: what publish, status and keys register use. */
export const DEFAULT_DEVICE_SCOPES: readonly Scope[] = ['apps:read', 'apps:write', 'versions:upload', 'versions:publish', 'keys:manage'];
/** Ended codes are kept this long, then deleted: the audit log keeps who approved what. */
const KEEP_ENDED_MS = 60 * 60 * 1000;

/** 20 consonants: no vowels (no words), no look-alikes (no I/L/1, O/0, U/V confusion with Y or W). */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** An RFC 6749 §5.2 / RFC 8628 §3.5 error: answered as `{error, error_description}` with 400. */
export class DeviceGrantError extends Error {
  override readonly name = 'DeviceGrantError';

  constructor(
    readonly error: 'invalid_request' | 'invalid_scope' | 'unsupported_grant_type' | 'invalid_grant' | 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token',
    description: string,
  ) {
    super(description);
  }
}

export interface DeviceGrantDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  apiKeys: ApiKeysService;
  /** Tells the owner of every key handed over (account-mails.ts, deviceSignInMail). */
  mailer: Mailer;
  /** Where the approval page is: `${baseUrl}/device`. */
  baseUrl: string;
}

export interface DeviceCodeRequest {
  client_name?: string | undefined;
  scope?: string | undefined;
}

export interface DeviceCodeResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface DeviceTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds until the key expires. */
  expires_in: number;
  scope: string;
  /** The API key's id: what the API keys page lists it under. */
  key_id: string;
}

export interface DeviceRequestView {
  user_code: string;
  client_name: string;
  scopes: Scope[];
  requested_from: string | null;
  created_at: string;
  expires_at: string;
}

export class DeviceGrantService {
  constructor(private readonly deps: DeviceGrantDeps) {}

  /** POST /v1/auth/device/code: a new pending code, and where to approve it. */
  async requestCode(input: DeviceCodeRequest, ip: string | null): Promise<DeviceCodeResponse> {
    const scopes = parseScopes(input.scope);
    const now = this.deps.clock.now();
    const deviceCode = this.deps.ids.secret(32);
    await repo.deleteExpired(this.deps.db, new Date(now.getTime() - KEEP_ENDED_MS).toISOString());
    const userCode = await this.insert((code) => ({
      id: this.deps.ids.id(),
      device_code_hash: sha256Hex(deviceCode),
      user_code: code,
      // Shown on the approval page and as the key's name: no control or format characters (a
      // right-to-left override) to dress it up as something else.
      client_name: input.client_name?.replace(/[\p{Cc}\p{Cf}]/gu, '').trim() || 'an unnamed client',
      scopes: JSON.stringify(scopes),
      status: 'pending',
      user_id: null,
      api_key_id: null,
      interval_s: POLL_INTERVAL_S,
      next_poll_at: now.toISOString(),
      ip,
      created_at: now.toISOString(),
      decided_at: null,
      expires_at: new Date(now.getTime() + DEVICE_CODE_TTL_S * 1000).toISOString(),
    }));
    const shown = formatUserCode(userCode);
    const verificationUri = `${this.deps.baseUrl}/device`;
    return {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${shown}`,
      expires_in: DEVICE_CODE_TTL_S,
      interval: POLL_INTERVAL_S,
    };
  }

  /** POST /v1/auth/device/token: the client's poll; throws the RFC's answers until the key is handed over, once. */
  async poll(grantType: string, deviceCode: string, ip: string | null): Promise<DeviceTokenResponse> {
    if (grantType !== DEVICE_GRANT_TYPE) throw new DeviceGrantError('unsupported_grant_type', `grant_type must be ${DEVICE_GRANT_TYPE}.`);
    const row = await repo.findByDeviceCode(this.deps.db, sha256Hex(deviceCode));
    if (!row) throw new DeviceGrantError('invalid_grant', 'The device code is unknown.');
    if (row.status === 'consumed') throw new DeviceGrantError('invalid_grant', 'The device code was already exchanged for a key.');
    if (row.status === 'denied') throw new DeviceGrantError('access_denied', 'The sign-in was denied on the portal.');
    const now = this.deps.clock.now();
    if (row.expires_at <= now.toISOString()) throw new DeviceGrantError('expired_token', 'The device code expired before it was approved; sign in again.');
    if (row.status === 'pending') {
      const onTime = await repo.recordPoll(this.deps.db, row, now, POLL_GRACE_MS, SLOW_DOWN_PENALTY_S);
      if (!onTime) throw new DeviceGrantError('slow_down', `Polling too fast: wait at least ${row.interval_s + SLOW_DOWN_PENALTY_S} seconds between polls.`);
      throw new DeviceGrantError('authorization_pending', 'The sign-in has not been approved yet.');
    }
    return this.handOver(row, now, ip);
  }

  /** GET /v1/auth/device: what a pending code asks for, for the person about to approve it (who asks from `ip`). */
  async lookup(userCode: string, ip: string | null): Promise<DeviceRequestView & { from_your_address: boolean }> {
    const row = await this.pending(userCode);
    // A request from elsewhere is what a phishing mail's code looks like: the page says so.
    return { ...toView(row), from_your_address: row.ip !== null && row.ip === ip };
  }

  /** POST /v1/auth/device/approve and …/deny, by a person signed in to the web UI. */
  async decide(actor: Actor, userCode: string, decision: 'approved' | 'denied', ip: string | null): Promise<DeviceRequestView> {
    const row = await this.pending(userCode);
    const at = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.decide(trx, row.id, { status: decision, userId: actor.userId, at }))) throw notFound();
      await this.deps.audit.record(
        {
          action: decision === 'approved' ? 'device.approved' : 'device.denied',
          actorId: actor.userId,
          targetType: 'device_authorization',
          targetId: row.id,
          ip,
          details: { client_name: row.client_name, scopes: JSON.parse(row.scopes) as unknown, requested_from: row.ip },
        },
        trx,
      );
    });
    return toView(row);
  }

  private async pending(userCode: string): Promise<DeviceAuthorization> {
    const normalized = normalizeUserCode(userCode);
    const row = normalized === null ? undefined : await repo.findPendingByUserCode(this.deps.db, normalized, this.deps.clock.now().toISOString());
    if (!row) throw notFound();
    return row;
  }

  /** The approved code becomes an API key of the approver, in one transaction with its consumption: one key per code. */
  private async handOver(row: DeviceAuthorization, now: Date, ip: string | null): Promise<DeviceTokenResponse> {
    const userId = row.user_id;
    const user = userId === null ? undefined : await users.findUserById(this.deps.db, userId);
    // Suspended (or deleted) between approval and collection: the approval no longer speaks for anyone.
    if (!user || user.status !== 'active') throw new DeviceGrantError('access_denied', 'The account that approved this sign-in cannot sign in.');
    const scopes = JSON.parse(row.scopes) as Scope[];
    const actor: Actor = { userId: user.id, role: user.role, scopes: null, amr: [] };
    const expiresAt = new Date(now.getTime() + DEVICE_KEY_TTL_DAYS * 24 * 60 * 60 * 1000);
    const granted = await this.deps.db.transaction().execute(async (trx) => {
      const key = await this.deps.apiKeys.create(actor, { name: row.client_name.slice(0, 100), scopes, expires_at: expiresAt.toISOString() }, ip, trx);
      if (!(await repo.consume(trx, row.id, key.id))) throw new DeviceGrantError('invalid_grant', 'The device code was already exchanged for a key.');
      await this.deps.mailer.enqueue(trx, deviceSignInMail(user, { clientName: row.client_name, scopes, requestedFrom: row.ip, collectedFrom: ip }, this.deps.baseUrl));
      return {
        access_token: key.key,
        token_type: 'Bearer' as const,
        expires_in: Math.floor((expiresAt.getTime() - now.getTime()) / 1000),
        scope: scopes.join(' '),
        key_id: key.id,
      };
    });
    this.deps.mailer.wake();
    return granted;
  }

  /** Inserts the row made for a fresh user code; two codes alike (one in 25 billion) draw again. */
  private async insert(row: (userCode: string) => DeviceAuthorization): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const userCode = this.userCode();
      try {
        await repo.insertDeviceAuthorization(this.deps.db, row(userCode));
        return userCode;
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= 3) throw error;
      }
    }
  }

  /** Eight letters drawn uniformly from the alphabet (bytes past the last whole multiple of 20 are skipped). */
  private userCode(): string {
    let code = '';
    while (code.length < USER_CODE_LENGTH) {
      for (const byte of Buffer.from(this.deps.ids.secret(16), 'base64url')) {
        if (byte >= 240 || code.length === USER_CODE_LENGTH) continue;
        code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
      }
    }
    return code;
  }
}

/** RFC 6749 `scope`: space-separated; every one must be an API key scope. None asked: the CLI's set. */
export function parseScopes(scope: string | undefined): Scope[] {
  const asked = (scope ?? '').split(/\s+/).filter(Boolean);
  if (asked.length === 0) return [...DEFAULT_DEVICE_SCOPES];
  const unknown = asked.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new DeviceGrantError('invalid_scope', `Unknown scope: ${unknown.join(', ')}. Scopes are ${API_KEY_SCOPES.join(', ')}.`);
  return [...new Set(asked as Scope[])];
}

/** What a person typed (any case, with or without the dash or spaces) as stored; null when it cannot be a code. */
export function normalizeUserCode(typed: string): string | null {
  const letters = typed.toUpperCase().replace(/[\s-]/g, '');
  if (letters.length !== USER_CODE_LENGTH) return null;
  for (const letter of letters) if (!USER_CODE_ALPHABET.includes(letter)) return null;
  return letters;
}

/** `BCDFGHJK` → `BCDF-GHJK`: two halves are easier to read out and type. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

function toView(row: DeviceAuthorization): DeviceRequestView {
  return {
    user_code: formatUserCode(row.user_code),
    client_name: row.client_name,
    scopes: JSON.parse(row.scopes) as Scope[],
    requested_from: row.ip,
    created_at: row.created_at,
    expires_at: row.expires_at,
  };
}

const notFound = () => accountsError('device_code_not_found', 'No sign-in request is waiting with this code: it may have expired (codes last 10 minutes), been used, or been mistyped.');
