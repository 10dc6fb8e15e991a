import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/index.js';
import { credentialOf, type AuthenticateOptions, type Authenticator } from '../../http/auth.js';
import { CSRF_HEADER, sessionCookieNames } from '../../http/cookies.js';
import { commonError, type AppError, safeEqual, sha256Hex, type Actor, type Clock } from '../../shared/index.js';
import { isApiKey, type ApiKeysService } from '../keys/index.js';
import type { AccessTokens } from './access-tokens.js';
import { parseAmr } from './amr.js';
import { findLiveFamily, findUserById, findWebSession, revokeWebSession, touchWebSession } from './accounts.repository.js';
import type { User } from './accounts.table.js';

/**
 * How the request proved who it is; logout uses it to end exactly that session, 2FA changes to
 * keep it. `authenticatedAt` is when the session's sign-in happened (null: not recorded).
 */
export type Credential =
  | { kind: 'access_token'; familyId?: string; authenticatedAt: string | null }
  | { kind: 'api_key'; keyId: string }
  | { kind: 'web_session'; sessionId: string; authenticatedAt: string | null };

export interface AuthenticatorOptions {
  /** Over https the session cookie has the __Host- prefix. */
  secureCookies: boolean;
  /** A web session unused for longer ends. */
  webSessionIdleMs: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Sliding the idle timeout writes last_seen_at at most this often per session: cheap on a busy UI.
const WEB_SESSION_TOUCH_MS = 60_000;

const invalidToken = () => commonError('unauthorized', 'The access token is invalid or expired.');

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
    private readonly options: AuthenticatorOptions,
  ) {}

  async authenticate(request: FastifyRequest, options: AuthenticateOptions = {}): Promise<Actor | null> {
    const credential = credentialOf(request);
    if (credential !== null) return isApiKey(credential) ? this.byApiKey(request, credential) : this.byAccessToken(request, credential);
    // Only the cookie name of this scheme counts: over https an unprefixed cookie may have been planted.
    const cookie = request.cookies[sessionCookieNames(this.options.secureCookies).session];
    if (typeof cookie === 'string' && cookie.length > 0) return this.byCookie(request, cookie, options.recheck === true);
    return null;
  }

  /** The credential of a request that authenticate() accepted. */
  credentialOf(request: FastifyRequest): Credential | undefined {
    return this.credentials.get(request);
  }

  private async byAccessToken(request: FastifyRequest, token: string): Promise<Actor> {
    const claims = await this.tokens.verify(token);
    const user = await this.activeUser(claims.userId, invalidToken);
    if (claims.sessionId === undefined) {
      this.credentials.set(request, { kind: 'access_token', authenticatedAt: null });
      return { userId: user.id, role: user.role, scopes: null, amr: claims.amr };
    }
    // Logout and password changes revoke the token's family; the token stops with it. The family
    // row, not the token, says how the session signed in: a session that proves a second factor
    // later (enabling TOTP) counts at once.
    const family = await findLiveFamily(this.db, claims.sessionId, this.clock.now().toISOString());
    if (!family) throw invalidToken();
    this.credentials.set(request, { kind: 'access_token', familyId: claims.sessionId, authenticatedAt: family.authenticated_at });
    return { userId: user.id, role: user.role, scopes: null, amr: parseAmr(family.amr) };
  }

  private async byApiKey(request: FastifyRequest, key: string): Promise<Actor> {
    const grant = await this.apiKeys.verify(key);
    const user = await this.activeUser(grant.ownerId, () => commonError('unauthorized', 'The API key is invalid, expired or revoked.'));
    this.credentials.set(request, { kind: 'api_key', keyId: grant.keyId });
    // No sign-in methods: a key is not a session, and never a second factor. A key restricted to
    // some apps is held to them by the services, where every other ownership check is.
    return { userId: user.id, role: user.role, scopes: grant.scopes, amr: [], apiKey: { id: grant.keyId, expiresAt: grant.expiresAt, appIds: grant.appIds } };
  }

  private async byCookie(request: FastifyRequest, token: string, recheck: boolean): Promise<Actor> {
    const session = await findWebSession(this.db, sha256Hex(token));
    const at = this.clock.now();
    const now = at.toISOString();
    const expired = () => commonError('unauthorized', 'The session has ended; sign in again.');
    if (!session || session.revoked_at !== null || session.expires_at <= now) throw expired();
    // A session left unused (a shared or forgotten browser) ends for good, not just for this request.
    const idleMs = at.getTime() - Date.parse(session.last_seen_at ?? session.created_at);
    if (idleMs > this.options.webSessionIdleMs) {
      await revokeWebSession(this.db, session.id, now);
      throw commonError('unauthorized', 'The session ended after a time without use; sign in again.');
    }
    // The cookie rides along on any request the browser makes, including a forged cross-site form
    // post: writes must also carry the CSRF token, which another site cannot read.
    if (!SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (typeof header !== 'string' || !safeEqual(sha256Hex(header), session.csrf_hash)) {
        throw commonError('csrf_failed', 'Writes made with the session cookie need the X-CSRF-Token header.');
      }
    }
    const user = await this.activeUser(session.user_id, expired);
    // A recheck (an open live stream) is not use: a forgotten tab must not keep a session alive.
    if (!recheck && idleMs >= WEB_SESSION_TOUCH_MS) await touchWebSession(this.db, session.id, now);
    this.credentials.set(request, { kind: 'web_session', sessionId: session.id, authenticatedAt: session.authenticated_at });
    return { userId: user.id, role: user.role, scopes: null, amr: parseAmr(session.amr) };
  }

  private async activeUser(id: string, fail: () => AppError): Promise<User> {
    const user = await findUserById(this.db, id);
    if (!user || user.status !== 'active') throw fail();
    return user;
  }
}
