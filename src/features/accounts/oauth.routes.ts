import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clientBudgetKey, rateLimit, type RateLimits } from '../../http/rate-limit.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { problemsOf } from '../../http/schemas.js';
import { contextOf, sendWebSession } from './accounts.routes.js';
import type { SessionsService } from './sessions.service.js';
import { OAUTH_BROWSER_COOKIE_MAX_AGE_SECONDS, OAUTH_PROVIDERS, type OAuthProviderName, type OAuthService } from './oauth.service.js';
import { accountsError, accountsErrors } from './accounts.errors.js';

const problems = problemsOf(accountsErrors);

const providerParams = z.object({ provider: z.enum(OAUTH_PROVIDERS) });

// Only a path on this portal: an absolute URL here would make the portal an open redirector.
const returnTo = z
  .string()
  .max(512)
  .regex(/^\/(?![/\\])[^\s]*$/, 'must be a path on this portal, such as /apps')
  .default('/');

const startQuery = z.object({ return_to: returnTo }).strict();

const callbackQuery = z.object({
  code: z.string().max(2048).optional(),
  state: z.string().max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});

/**
 * Binds a sign-in to the browser that started it. httpOnly: scripts never read it. SameSite=Lax:
 * it must ride along on the provider's top-level redirect back. Scoped to the provider's callback
 * path, so it goes nowhere else and concurrent sign-ins with two providers do not clash. Over https
 * its name has the __Secure- prefix, so a plain-http answer (a network attacker's) cannot plant
 * one; the path scope rules out __Host-.
 */
function browserCookieName(secure: boolean): string {
  return secure ? '__Secure-mosis_oauth' : 'mosis_oauth';
}

function browserCookieOptions(provider: OAuthProviderName, secure: boolean) {
  return { path: `/v1/auth/oauth/${provider}/callback`, httpOnly: true, sameSite: 'lax' as const, secure };
}

/** What the OAuth routes use of the core. */
export interface OAuthRoutesCore {
  oauth: OAuthService;
  sessions: SessionsService;
  rateLimiter: RateLimits;
  config: { baseUrl: string; accounts: { rateLimit: { windowMs: number; perIp: number } } };
}

export const oauthRoutes: FeatureRoutes<OAuthRoutesCore> = (app, { core }) => {
  const { oauth } = core;
  const deps = {
    sessions: core.sessions,
    limiter: core.rateLimiter,
    limits: core.config.accounts.rateLimit,
    baseUrl: core.config.baseUrl,
    secureCookies: core.config.baseUrl.startsWith('https:'),
  };
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['accounts'];
  const limit = rateLimit(deps.limiter, [{ name: 'oauth:ip', max: deps.limits.perIp, windowMs: deps.limits.windowMs, key: (request) => clientBudgetKey(request.ip) }]);
  const enabled = (provider: string) => {
    if (!oauth.enabled(provider)) throw accountsError('oauth_provider_not_enabled', `Sign-in with ${provider} is not set up on this portal.`);
    return provider;
  };

  r.get(
    '/v1/auth/oauth/providers',
    {
      schema: {
        tags,
        summary: 'The sign-in providers set up on this portal, for the sign-in page to offer',
        response: { 200: z.object({ providers: z.array(z.enum(OAUTH_PROVIDERS)).describe('In a fixed order: github, google, oidc') }) },
      },
    },
    // Public and cheap: what the sign-in page shows anyone; it names providers, never their settings.
    () => ({ providers: OAUTH_PROVIDERS.filter((provider) => oauth.enabled(provider)) }),
  );

  r.get(
    '/v1/auth/oauth/:provider/start',
    {
      preHandler: limit,
      schema: {
        tags,
        summary: 'Start signing in with GitHub, Google or the configured OpenID issuer (redirects to the provider)',
        params: providerParams,
        querystring: startQuery,
        response: { 302: z.undefined().describe('To the provider'), ...problems('validation_failed', 'oauth_provider_not_enabled', 'oauth_provider_unavailable', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      const provider = enabled(request.params.provider);
      const { url, browserBinding } = await oauth.start(provider, request.query.return_to);
      void reply.setCookie(browserCookieName(deps.secureCookies), browserBinding, { ...browserCookieOptions(provider, deps.secureCookies), maxAge: OAUTH_BROWSER_COOKIE_MAX_AGE_SECONDS });
      return reply.redirect(url.href, 302);
    },
  );

  r.get(
    '/v1/auth/oauth/:provider/callback',
    {
      preHandler: limit,
      schema: {
        tags,
        summary: 'Where the provider sends the browser back; starts a web session and redirects into the portal',
        params: providerParams,
        querystring: callbackQuery,
        response: { 302: z.undefined().describe('Signed in; to return_to'), ...problems('validation_failed', 'oauth_provider_not_enabled', 'oauth_failed', 'oauth_invalid_state', 'oauth_browser_mismatch', 'oauth_denied', 'oauth_no_email', 'oauth_email_unverified', 'account_suspended', 'totp_required', 'oauth_provider_unavailable', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      const provider = enabled(request.params.provider);
      // The URL the provider redirected to, as the browser saw it: issuer and state checks need all of it.
      const currentUrl = new URL(request.url, deps.baseUrl);
      // Spent by this attempt whatever its outcome, like the state it binds.
      const cookie = browserCookieName(deps.secureCookies);
      void reply.clearCookie(cookie, browserCookieOptions(provider, deps.secureCookies));
      const { user, returnTo: target } = await oauth.callback(provider, currentUrl, request.cookies[cookie], contextOf(request));
      sendWebSession(reply, await deps.sessions.webSessionFor(user, undefined, contextOf(request)), deps.secureCookies);
      return reply.redirect(target, 302);
    },
  );
};
