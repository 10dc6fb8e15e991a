import type * as Client from 'openid-client';
import type { Db } from '../../db/index.js';
import { commonError, AppError, safeEqual, sha256Hex, type Clock, type Ids } from '../../shared/index.js';
import type { AuditLog } from '../audit/index.js';
import { takeOverAccount } from './account-takeover.js';
import { accountErrors, accountsError } from './accounts.errors.js';
import * as repo from './accounts.repository.js';
import type { RequestContext } from './request-context.js';

let loaded: Promise<typeof Client> | undefined;
/** openid-client comes with the first sign-in through a provider, not with every portal's start. */
function openidClient(): Promise<typeof Client> {
  return (loaded ??= import('openid-client'));
}
import type { User } from './accounts.table.js';

export const OAUTH_PROVIDERS = ['github', 'google', 'oidc'] as const;
export type OAuthProviderName = (typeof OAUTH_PROVIDERS)[number];

/** An authorization request is good for this long: long enough to sign in at the provider. */
const STATE_TTL_MS = 10 * 60 * 1000;
/** The browser-binding cookie lives exactly as long as the request it binds. */
export const OAUTH_BROWSER_COOKIE_MAX_AGE_SECONDS = STATE_TTL_MS / 1000;
const GOOGLE_ISSUER = 'https://accounts.google.com';
const GITHUB_API = 'https://api.github.com';

export interface OAuthProviderSettings {
  clientId: string;
  clientSecret: string;
  /** OpenID issuer for discovery; absent for GitHub, which is plain OAuth2. */
  issuer?: string;
}

export interface OAuthDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  audit: AuditLog;
  baseUrl: string;
  providers: Partial<Record<OAuthProviderName, OAuthProviderSettings>>;
}

/** Who the provider says the user is. */
export interface ExternalIdentity {
  subject: string;
  email: string | null;
  /** Only a verified email may be matched to an existing account. */
  emailVerified: boolean;
  name: string | null;
}

const failed = (provider: string) => accountsError('oauth_failed', `Signing in with ${provider} did not succeed; start again.`);

/**
 * Sign-in with GitHub (OAuth2), Google and any OpenID issuer, through openid-client: state, nonce
 * (OpenID only), PKCE and the exact redirect URI on every flow. What the callback must check is
 * kept server-side in oauth_states and can be used once, and only by the browser that started it:
 * start answers a random binding value for an httpOnly cookie, the row keeps its hash.
 */
export class OAuthService {
  private readonly configs = new Map<OAuthProviderName, Promise<Client.Configuration>>();

  constructor(private readonly deps: OAuthDeps) {}

  enabled(provider: string): provider is OAuthProviderName {
    return (OAUTH_PROVIDERS as readonly string[]).includes(provider) && this.deps.providers[provider as OAuthProviderName] !== undefined;
  }

  redirectUri(provider: OAuthProviderName): string {
    return `${this.deps.baseUrl}/v1/auth/oauth/${provider}/callback`;
  }

  /**
   * The provider's authorization URL for a new sign-in, where the browser is sent, and the value
   * the browser must keep in a cookie to finish it.
   */
  async start(provider: OAuthProviderName, returnTo: string): Promise<{ url: URL; browserBinding: string }> {
    const config = await this.config(provider);
    const state = this.deps.ids.secret(32);
    // Never in a URL: a leaked callback URL (history, logs, Referer) is useless without it.
    const browserBinding = this.deps.ids.secret(32);
    const nonce = this.deps.ids.secret(32);
    const codeVerifier = this.deps.ids.secret(48);
    const now = this.deps.clock.now();
    await repo.deleteExpiredOAuthStates(this.deps.db, now.toISOString());
    await repo.insertOAuthState(this.deps.db, {
      state_hash: sha256Hex(state),
      provider,
      code_verifier: codeVerifier,
      nonce,
      return_to: returnTo,
      expires_at: new Date(now.getTime() + STATE_TTL_MS).toISOString(),
      created_at: now.toISOString(),
      browser_hash: sha256Hex(browserBinding),
    });
    const openid = provider !== 'github';
    const client = await openidClient();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(provider),
      scope: openid ? 'openid email profile' : 'read:user user:email',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...(openid ? { nonce } : {}),
    });
    return { url, browserBinding };
  }

  /**
   * Finishes a sign-in: checks state and that this browser started it, exchanges the code with the
   * PKCE verifier, checks the ID token (signature, issuer, audience, nonce), then finds, links or
   * creates the account.
   */
  async callback(provider: OAuthProviderName, currentUrl: URL, browserBinding: string | undefined, ctx: RequestContext): Promise<{ user: User; returnTo: string }> {
    const denied = currentUrl.searchParams.get('error');
    const stateParam = currentUrl.searchParams.get('state');
    const stored = stateParam ? await repo.takeOAuthState(this.deps.db, sha256Hex(stateParam)) : undefined;
    if (!stateParam || !stored || stored.provider !== provider || stored.expires_at <= this.deps.clock.now().toISOString()) {
      throw accountsError('oauth_invalid_state', 'This sign-in link is unknown, used or expired; start again.');
    }
    // A valid state is not enough: someone could start a sign-in to their own account and hand the
    // callback URL to a victim, whose browser would then be signed in as them (login CSRF).
    if (stored.browser_hash === null || browserBinding === undefined || !safeEqual(sha256Hex(browserBinding), stored.browser_hash)) {
      throw accountsError('oauth_browser_mismatch', 'This sign-in was started in another browser, or its cookie expired; start again from this browser.');
    }
    if (denied !== null) throw accountsError('oauth_denied', `${provider} did not let you sign in (${denied.slice(0, 64)}).`);
    const config = await this.config(provider);
    const openid = provider !== 'github';
    let identity: ExternalIdentity;
    const client = await openidClient();
    try {
      const tokens = await client.authorizationCodeGrant(
        config,
        currentUrl,
        { pkceCodeVerifier: stored.code_verifier, expectedState: stateParam, ...(openid ? { expectedNonce: stored.nonce, idTokenExpected: true } : {}) },
        { redirect_uri: this.redirectUri(provider) },
      );
      identity = openid ? await this.openIdIdentity(config, tokens) : await this.githubIdentity(config, tokens.access_token);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw failed(provider);
    }
    const user = await this.signIn(provider, identity, ctx);
    return { user, returnTo: stored.return_to };
  }

  private async openIdIdentity(config: Client.Configuration, tokens: Client.TokenEndpointResponse & Client.TokenEndpointResponseHelpers): Promise<ExternalIdentity> {
    const claims = tokens.claims();
    if (!claims) throw new Error('no ID token');
    let email = typeof claims['email'] === 'string' ? claims['email'] : null;
    let verified = claims['email_verified'] === true;
    let name = typeof claims['name'] === 'string' ? claims['name'] : null;
    if (email === null) {
      // Some issuers put the email only in userinfo.
      const client = await openidClient();
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      email = typeof info.email === 'string' ? info.email : null;
      verified = info.email_verified === true;
      name ??= typeof info.name === 'string' ? info.name : null;
    }
    return { subject: claims.sub, email: email?.toLowerCase() ?? null, emailVerified: verified, name };
  }

  private async githubIdentity(config: Client.Configuration, accessToken: string): Promise<ExternalIdentity> {
    const client = await openidClient();
    const get = async (path: string): Promise<unknown> => {
      const res = await client.fetchProtectedResource(config, accessToken, new URL(path, GITHUB_API), 'GET', undefined, new Headers({ accept: 'application/vnd.github+json' }));
      if (!res.ok) throw new Error(`GitHub answered ${res.status} for ${path}`);
      return res.json();
    };
    return githubIdentity(await get('/user'), await get('/user/emails'));
  }

  private async signIn(provider: OAuthProviderName, identity: ExternalIdentity, ctx: RequestContext): Promise<User> {
    const now = this.deps.clock.now().toISOString();
    const user = await this.deps.db.transaction().execute(async (trx) => {
      const linked = await repo.findOAuthIdentity(trx, provider, identity.subject);
      if (linked) return repo.findUserById(trx, linked.user_id);
      if (identity.email === null) throw accountsError('oauth_no_email', `${provider} did not share an email address; allow it and start again.`);
      const existing = await repo.findUserByEmail(trx, identity.email);
      if (existing && !identity.emailVerified) {
        // Linking on an unverified address would let anyone who types your email at the provider take your account.
        throw accountsError('oauth_email_unverified', `An account with this email exists, but ${provider} has not verified the address; sign in with your password.`);
      }
      if (existing && existing.email_verified_at === null) {
        // Nobody ever proved the address on this account: whoever registered it may have typed
        // someone else's. The provider has just proved it belongs to this person, so the account
        // becomes theirs, and everything the registrant could get in with is wiped before linking.
        const report = await takeOverAccount(trx, existing.id, now, { passwordHash: null });
        // The registrant chose the display name too.
        await repo.updateUser(trx, existing.id, { name: displayName(identity, identity.email), updated_at: now });
        await this.deps.audit.record({ action: 'account.taken_over', actorId: existing.id, targetType: 'user', targetId: existing.id, ip: ctx.ip, details: { via: provider, ...report } }, trx);
      }
      const user =
        (existing && (await repo.findUserById(trx, existing.id))) ??
        (await repo.insertUser(trx, {
          id: this.deps.ids.id(),
          email: identity.email,
          name: displayName(identity, identity.email),
          password_hash: null,
          email_verified_at: identity.emailVerified ? now : null,
          created_at: now,
          updated_at: now,
        }));
      await repo.insertOAuthIdentity(trx, { id: this.deps.ids.id(), user_id: user.id, provider, subject: identity.subject, email: identity.email, created_at: now });
      await this.deps.audit.record(
        { action: existing ? 'oauth.linked' : 'oauth.account_created', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { provider } },
        trx,
      );
      return user;
    });
    if (!user) throw commonError('unauthorized', 'Authentication is required.');
    if (user.status !== 'active') throw accountErrors.suspended();
    // The provider proved the first factor only; an account with TOTP signs in with password and code.
    if (user.totp_enabled_at !== null) {
      throw accountErrors.totpRequired('sign in with your password and code');
    }
    await this.deps.audit.record({ action: 'login.succeeded', actorId: user.id, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { method: provider } });
    return user;
  }

  private config(provider: OAuthProviderName): Promise<Client.Configuration> {
    let config = this.configs.get(provider);
    if (!config) {
      config = this.discover(provider);
      this.configs.set(provider, config);
      // A provider that is down now may answer later: do not keep the failure.
      config.catch(() => this.configs.delete(provider));
    }
    return config.catch(() => {
      throw accountsError('oauth_provider_unavailable', `${provider} cannot be reached right now; try again later.`);
    });
  }

  private async discover(provider: OAuthProviderName): Promise<Client.Configuration> {
    const settings = this.deps.providers[provider];
    if (!settings) throw new Error(`provider ${provider} is not configured`);
    const client = await openidClient();
    if (provider === 'github') {
      return new client.Configuration(
        { issuer: 'https://github.com', authorization_endpoint: 'https://github.com/login/oauth/authorize', token_endpoint: 'https://github.com/login/oauth/access_token' },
        settings.clientId,
        settings.clientSecret,
      );
    }
    const issuer = new URL(provider === 'google' ? GOOGLE_ISSUER : (settings.issuer ?? ''));
    // Plain http only for an issuer on this machine (a development or test provider).
    const loopback = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
    return client.discovery(issuer, settings.clientId, settings.clientSecret, undefined, loopback ? { execute: [client.allowInsecureRequests] } : undefined);
  }
}

function displayName(identity: ExternalIdentity, email: string): string {
  return (identity.name ?? email.split('@')[0] ?? 'Developer').slice(0, 100);
}

/** Maps GitHub's /user and /user/emails answers to an identity: the primary email, if verified. */
export function githubIdentity(user: unknown, emails: unknown): ExternalIdentity {
  const u = (user ?? {}) as { id?: unknown; login?: unknown; name?: unknown; email?: unknown };
  if (typeof u.id !== 'number' && typeof u.id !== 'string') throw new Error('GitHub did not name the user');
  const list = Array.isArray(emails) ? (emails as Array<{ email?: unknown; primary?: unknown; verified?: unknown }>) : [];
  const primary = list.find((e) => e.primary === true && typeof e.email === 'string');
  const anyVerified = list.find((e) => e.verified === true && typeof e.email === 'string');
  const chosen = primary?.verified === true ? primary : (anyVerified ?? primary);
  const email = typeof chosen?.email === 'string' ? chosen.email.toLowerCase() : typeof u.email === 'string' ? u.email.toLowerCase() : null;
  return {
    subject: String(u.id),
    email,
    emailVerified: chosen !== undefined && chosen.verified === true,
    name: typeof u.name === 'string' && u.name.length > 0 ? u.name : typeof u.login === 'string' ? u.login : null,
  };
}
