import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import { credentialOf, type Authenticator } from '../../http/auth.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../../http/cookies.js';
import { AppError, errors, safeEqual, sha256Hex, type Actor, type Clock } from '../../shared/index.js';
import { isApiKey, type ApiKeysService } from '../keys/index.js';
import type { AccessTokens } from './access-tokens.js';
import { familyIsLive, findUserById, findWebSession } from './accounts.repository.js';
import type { User } from './accounts.table.js';

/** How the request proved who it is; logout uses it to end exactly that session. */
export type Credential =
  | { kind: 'access_token'; familyId?: string }
  | { kind: 'api_key'; keyId: string }
  | { kind: 'web_session'; sessionId: string };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const invalidToken = () => errors.unauthorized('The access token is invalid or expired.');

/**
 * Every way to call the portal: an access JWT or an API key (Bearer or X-API-Key), or the web UI's
 * session cookie plus X-CSRF-Token on writes. The user row is read on every request, so a
 * suspension or a role change takes effect at once, for tokens, keys and sessions alike.
 */
export class PortalAuthenticator implements Authenticator {
  private readonly credentials = new WeakMap<FastifyRequest, Credential>();

  constructor(
    private readonly db: Db,
    private readonly tokens: AccessTokens,
    private readonly apiKeys: ApiKeysService,
    private readonly clock: Clock,
  ) {}

  async authenticate(request: FastifyRequest): Promise<Actor | null> {
    const credential = credentialOf(request);
    if (credential !== null) return isApiKey(credential) ? this.byApiKey(request, credential) : this.byAccessToken(request, credential);
    const cookie = request.cookies[SESSION_COOKIE];
    if (typeof cookie === 'string' && cookie.length > 0) return this.byCookie(request, cookie);
    return null;
  }

  /** The credential of a request that authenticate() accepted. */
  credentialOf(request: FastifyRequest): Credential | undefined {
    return this.credentials.get(request);
  }

  private async byAccessToken(request: FastifyRequest, token: string): Promise<Actor> {
    const claims = await this.tokens.verify(token);
    const user = await this.activeUser(claims.userId, invalidToken);
    // Logout and password changes revoke the token's family; the token stops with it.
    if (claims.sessionId !== undefined && !(await familyIsLive(this.db, claims.sessionId, this.clock.now().toISOString()))) throw invalidToken();
    this.credentials.set(request, { kind: 'access_token', familyId: claims.sessionId });
    return { userId: user.id, role: user.role, scopes: null };
  }

  private async byApiKey(request: FastifyRequest, key: string): Promise<Actor> {
    const grant = await this.apiKeys.verify(key);
    const user = await this.activeUser(grant.ownerId, () => errors.unauthorized('The API key is invalid, expired or revoked.'));
    if (grant.appIds !== null) {
      // A key restricted to apps works only on those apps' routes (the ones with an app_id).
      const appId = (request.params as Record<string, unknown> | undefined)?.['app_id'];
      if (typeof appId !== 'string' || !grant.appIds.includes(appId)) {
        throw new AppError('api_key_app_restricted', 403, 'This API key is restricted to other apps.');
      }
    }
    this.credentials.set(request, { kind: 'api_key', keyId: grant.keyId });
    return { userId: user.id, role: user.role, scopes: grant.scopes };
  }

  private async byCookie(request: FastifyRequest, token: string): Promise<Actor> {
    const session = await findWebSession(this.db, sha256Hex(token));
    const now = this.clock.now().toISOString();
    const expired = () => errors.unauthorized('The session has ended; sign in again.');
    if (!session || session.revoked_at !== null || session.expires_at <= now) throw expired();
    // The cookie rides along on any request the browser makes, including a forged cross-site form
    // post: writes must also carry the CSRF token, which another site cannot read.
    if (!SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (typeof header !== 'string' || !safeEqual(sha256Hex(header), session.csrf_hash)) {
        throw new AppError('csrf_failed', 403, 'Writes made with the session cookie need the X-CSRF-Token header.');
      }
    }
    const user = await this.activeUser(session.user_id, expired);
    this.credentials.set(request, { kind: 'web_session', sessionId: session.id });
    return { userId: user.id, role: user.role, scopes: null };
  }

  private async activeUser(id: string, fail: () => AppError): Promise<User> {
    const user = await findUserById(this.db, id);
    if (!user || user.status !== 'active') throw fail();
    return user;
  }
}
