import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { commonError, type AuthMethod, type Clock, type Role } from '../../shared/index.js';
import { createPrivateJson, readPrivateJson, writePrivateJson } from '../../storage/index.js';
import { isAuthMethod } from './amr.js';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const AUDIENCE = 'mosis-portal';
const ALG = 'EdDSA';

interface StoredKey {
  kid: string;
  created_at: string;
  /** Set when a newer key took over signing; the key verifies until its last tokens expire. */
  retired_at?: string;
  private_jwk: JWK;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

export interface AccessClaims {
  userId: string;
  role: Role;
  /** The refresh-token family the token was issued with: logout revokes it, and with it the token. */
  sessionId?: string;
  /** How the session signed in (the `amr` claim, RFC 8176); empty when unknown. */
  amr: readonly AuthMethod[];
}

// Other instances (or a running server after `rotate-keys`) pick up a changed key file this often.
const RELOAD_INTERVAL_MS = 5_000;

/**
 * Signs and verifies the short-lived access JWTs. The Ed25519 key is generated on first start and
 * kept in DATA_DIR/keys (mode 0600). The newest key signs; every key in the file verifies, so a
 * rotated-out key keeps its tokens valid until they expire.
 */
export class AccessTokens {
  private lastReload = 0;

  private constructor(
    private keys: SigningKey[],
    private readonly file: string,
    private readonly issuer: string,
    private readonly clock: Clock,
  ) {}

  static async open(dataDir: string, issuer: string, clock: Clock): Promise<AccessTokens> {
    const file = keyFile(dataDir);
    let stored = await readKeys(file);
    if (stored.length === 0) {
      // Of instances starting at once on a fresh DATA_DIR, one makes the key and the others read it.
      await createPrivateJson(file, { keys: [newKey(clock)] });
      stored = await readKeys(file);
    }
    return new AccessTokens(stored.map(toSigningKey).reverse(), file, issuer, clock);
  }

  /**
   * Adds a new signing key and drops retired keys whose tokens have all expired. The previous key
   * keeps verifying for one token lifetime, so nobody is signed out by a rotation.
   */
  static async rotate(dataDir: string, clock: Clock): Promise<{ kid: string; dropped: string[] }> {
    const file = keyFile(dataDir);
    const now = clock.now();
    const stored = await readKeys(file);
    const cutoff = now.getTime() - (ACCESS_TOKEN_TTL_SECONDS + 60) * 1000;
    const kept: StoredKey[] = [];
    const dropped: string[] = [];
    for (const key of stored) {
      if (key.retired_at !== undefined && Date.parse(key.retired_at) < cutoff) dropped.push(key.kid);
      else kept.push(key.retired_at === undefined ? { ...key, retired_at: now.toISOString() } : key);
    }
    const fresh = newKey(clock);
    await writeKeys(file, [...kept, fresh]);
    return { kid: fresh.kid, dropped };
  }

  /** Re-reads the key file when it may have changed, so a rotation reaches a running server. */
  private async reload(): Promise<void> {
    const now = Date.now();
    if (now - this.lastReload < RELOAD_INTERVAL_MS) return;
    this.lastReload = now;
    const stored = await readKeys(this.file);
    if (stored.length > 0) this.keys = stored.map(toSigningKey).reverse();
  }

  async sign(claims: AccessClaims): Promise<string> {
    await this.reload();
    const key = this.keys[0];
    if (!key) throw new Error('no access-token signing key');
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const payload = { role: claims.role, amr: [...claims.amr], ...(claims.sessionId === undefined ? {} : { sid: claims.sessionId }) };
    return new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /** Returns the claims of a valid token; anything else is a 401 `invalid_token`. */
  async verify(token: string): Promise<AccessClaims> {
    // A token from a key this process has not loaded yet (rotated elsewhere) triggers a reload.
    try {
      const { kid } = decodeProtectedHeader(token);
      if (typeof kid === 'string' && !this.keys.some((k) => k.kid === kid)) await this.reload();
    } catch {
      throw commonError('unauthorized', 'The access token is invalid or expired.');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = this.keys.find((k) => k.kid === header.kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key.publicKey;
        },
        // The algorithm is pinned: alg=none and HS256 tricks are refused before any key is used.
        { algorithms: [ALG], issuer: this.issuer, audience: AUDIENCE, currentDate: this.clock.now(), requiredClaims: ['sub', 'exp', 'iat'] },
      ));
    } catch {
      throw commonError('unauthorized', 'The access token is invalid or expired.');
    }
    const role = payload['role'];
    if (typeof payload.sub !== 'string' || (role !== 'developer' && role !== 'reviewer' && role !== 'admin')) {
      throw commonError('unauthorized', 'The access token is invalid or expired.');
    }
    const sid = payload['sid'];
    const amr = Array.isArray(payload['amr']) ? payload['amr'].filter(isAuthMethod) : [];
    return { userId: payload.sub, role, amr, ...(typeof sid === 'string' ? { sessionId: sid } : {}) };
  }

  /** The public half of every key, for /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}

function keyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'access-token-keys.json');
}

function newKey(clock: Clock): StoredKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { kid: randomUUID(), created_at: clock.now().toISOString(), private_jwk: privateKey.export({ format: 'jwk' }) };
}

function toSigningKey(stored: StoredKey): SigningKey {
  const privateKey = createPrivateKey({ key: stored.private_jwk as JsonWebKey, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { kid: stored.kid, privateKey, publicKey, publicJwk: { ...jwk, kid: stored.kid, alg: ALG, use: 'sig' } };
}

async function readKeys(file: string): Promise<StoredKey[]> {
  const parsed = await readPrivateJson<{ keys?: StoredKey[] }>(file, 'the access-token keys');
  return parsed?.keys ?? [];
}

function writeKeys(file: string, keys: StoredKey[]): Promise<void> {
  return writePrivateJson(file, { keys });
}
