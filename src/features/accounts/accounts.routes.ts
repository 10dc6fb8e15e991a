import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireActor, requireUser } from '../../http/auth.js';
import { clearSessionCookies, setSessionCookies } from '../../http/cookies.js';
import { clientBudgetKey, rateLimit, type RateLimits, type RateRule } from '../../http/rate-limit.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { authenticated, problemsOf, JSON_BODY, USER_ONLY, USER_ONLY_WRITE } from '../../http/schemas.js';
import { sha256Hex } from '../../shared/index.js';
import type { AccessTokens } from './access-tokens.js';
import {
  acceptedResponse,
  accountSessionsResponse,
  changePasswordBody,
  forgotPasswordBody,
  loginBody,
  recoveryCodesBody,
  recoveryCodesResponse,
  refreshBody,
  registerBody,
  resetPasswordBody,
  sessionIdParams,
  sessionResponse,
  totpDisableBody,
  totpEnableBody,
  totpSetupResponse,
  twoFactorStatusResponse,
  updateProfileBody,
  userResponse,
  verifyEmailBody,
  webSessionResponse,
} from './accounts.schemas.js';
import type { AccountsService } from './accounts.service.js';
import type { EmailTokensService } from './email-tokens.service.js';
import type { RequestContext } from './request-context.js';
import type { SessionsService, WebSessionStart } from './sessions.service.js';
import type { PortalAuthenticator } from './authenticator.js';
import type { CurrentSession, TwoFactorService } from './two-factor.service.js';
import { accountsErrors } from './accounts.errors.js';

const problems = problemsOf(accountsErrors);

/** What the accounts routes use of the core. */
export interface AccountsRoutesCore {
  accounts: AccountsService;
  sessions: SessionsService;
  emailTokens: EmailTokensService;
  twoFactor: TwoFactorService;
  auth: PortalAuthenticator;
  tokens: AccessTokens;
  rateLimiter: RateLimits;
  config: { baseUrl: string; accounts: { rateLimit: { windowMs: number; perIp: number; perAccount: number }; webSessionIdleMs: number } };
}

/** Longer User-Agent strings are cut: the sessions list needs the browser and system, not every token. */
const USER_AGENT_MAX = 256;

export function contextOf(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, USER_AGENT_MAX) : null };
}

/** The session (refresh-token family or web session) a request signed in with, if any. */
function currentSession(auth: PortalAuthenticator, request: FastifyRequest): CurrentSession {
  const credential = auth.credentialOf(request);
  if (credential?.kind === 'web_session') return { webSessionId: credential.sessionId, authenticatedAt: credential.authenticatedAt };
  if (credential?.kind === 'access_token') return { familyId: credential.familyId, authenticatedAt: credential.authenticatedAt };
  return { authenticatedAt: null };
}

/** Answers a web session: the cookies carry it, the body carries the CSRF token for the UI. */
export function sendWebSession(reply: FastifyReply, session: WebSessionStart, secure: boolean): { user: WebSessionStart['user']; csrf_token: string } {
  setSessionCookies(reply, { token: session.token, csrfToken: session.csrfToken }, { secure, maxAgeSeconds: session.maxAgeSeconds });
  return { user: session.user, csrf_token: session.csrfToken };
}

export const accountsRoutes: FeatureRoutes<AccountsRoutesCore> = (app, { core }) => {
  const { accounts: service, sessions, emailTokens, twoFactor, auth, tokens, rateLimiter: limiter } = core;
  const limits = core.config.accounts.rateLimit;
  // Secure cookies when the portal is served over https.
  const secureCookies = core.config.baseUrl.startsWith('https:');
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['accounts'];

  // Each endpoint has a per-IP and a per-account budget; login and the cookie sign-in share theirs.
  const limit = (name: string, account: (request: FastifyRequest) => string | null) => {
    const rules: RateRule[] = [
      { name: `${name}:ip`, max: limits.perIp, windowMs: limits.windowMs, key: (request) => clientBudgetKey(request.ip) },
      { name: `${name}:account`, max: limits.perAccount, windowMs: limits.windowMs, key: account },
    ];
    return rateLimit(limiter, rules);
  };
  const bodyField = (field: string) => (request: FastifyRequest) => {
    const value = (request.body as Record<string, unknown> | undefined)?.[field];
    // Tokens are counted by their hash so the limiter's memory never holds one.
    return typeof value === 'string' ? (field === 'email' ? value : sha256Hex(value)) : null;
  };
  const signedIn = (request: FastifyRequest) => request.actor?.userId ?? null;

  r.post(
    '/v1/auth/register',
    {
      preHandler: limit('register', bodyField('email')),
      schema: {
        tags,
        summary: 'Create a developer account and mail a verification link; then sign in with /v1/auth/login',
        description:
          'Answers 202 {"accepted": true} whether or not the address already has an account, so sign-up cannot be used to learn who is registered; the owner of an existing account gets a mail instead of a verification link.',
        body: registerBody,
        response: { 202: acceptedResponse, ...problems(...JSON_BODY, 'password_policy', 'password_too_common', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      await service.register(request.body, contextOf(request));
      return reply.code(202).send({ accepted: true });
    },
  );

  r.post(
    '/v1/auth/login',
    {
      preHandler: limit('login', bodyField('email')),
      schema: { tags, summary: 'Sign in with email and password', body: loginBody, response: { 200: sessionResponse, ...problems(...JSON_BODY, 'invalid_credentials', 'totp_required', 'invalid_totp_code', 'account_suspended', 'rate_limited', 'rate_limits_unavailable') } },
    },
    (request) => sessions.login(request.body, contextOf(request)),
  );

  r.post(
    '/v1/auth/session',
    {
      preHandler: limit('login', bodyField('email')),
      schema: {
        tags,
        summary: 'Sign in to the web UI: sets an httpOnly session cookie and answers the CSRF token',
        body: loginBody,
        response: { 200: webSessionResponse, ...problems(...JSON_BODY, 'invalid_credentials', 'totp_required', 'invalid_totp_code', 'account_suspended', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => sendWebSession(reply, await sessions.startWebSession(request.body, contextOf(request)), secureCookies),
  );

  r.post(
    '/v1/auth/refresh',
    {
      preHandler: limit('refresh', bodyField('refresh_token')),
      schema: { tags, summary: 'Exchange a refresh token for a new pair', body: refreshBody, response: { 200: sessionResponse, ...problems(...JSON_BODY, 'invalid_refresh_token', 'rate_limited', 'rate_limits_unavailable') } },
    },
    (request) => sessions.refresh(request.body.refresh_token, contextOf(request)),
  );

  r.post(
    '/v1/auth/logout',
    {
      preHandler: requireUser(auth),
      schema: { tags, security: authenticated, summary: "End this session: its refresh tokens, or the web UI's cookie session", response: { 204: z.undefined().describe('Signed out'), ...problems(...USER_ONLY_WRITE) } },
    },
    async (request, reply) => {
      const session = currentSession(auth, request);
      await sessions.logout(actorOf(request), session, contextOf(request));
      if (session.webSessionId !== undefined) clearSessionCookies(reply, secureCookies);
      return reply.code(204).send();
    },
  );

  r.get(
    '/v1/auth/me',
    {
      preHandler: requireActor(auth),
      schema: { tags, summary: 'The signed-in user', security: authenticated, response: { 200: userResponse, ...problems('unauthorized', 'api_key_app_restricted') } },
    },
    (request) => service.me(actorOf(request)),
  );

  r.post(
    '/v1/auth/verify-email',
    {
      preHandler: limit('verify_email', bodyField('token')),
      schema: { tags, summary: 'Confirm the email address with the token from the verification mail', body: verifyEmailBody, response: { 200: userResponse, ...problems(...JSON_BODY, 'invalid_token', 'rate_limited', 'rate_limits_unavailable') } },
    },
    (request) => emailTokens.verifyEmail(request.body.token, contextOf(request)),
  );

  r.post(
    '/v1/auth/verify-email/resend',
    {
      preHandler: [requireUser(auth), limit('verify_email_resend', signedIn)],
      schema: { tags, security: authenticated, summary: 'Send the verification mail again', response: { 202: acceptedResponse, ...problems(...USER_ONLY_WRITE, 'email_already_verified', 'rate_limited', 'rate_limits_unavailable') } },
    },
    async (request, reply) => {
      await emailTokens.resendVerification(actorOf(request));
      return reply.code(202).send({ accepted: true });
    },
  );

  r.post(
    '/v1/auth/password/forgot',
    {
      preHandler: limit('password_forgot', bodyField('email')),
      schema: {
        tags,
        summary: 'Mail a password-reset link; answers the same whether or not the account exists',
        body: forgotPasswordBody,
        response: { 202: acceptedResponse, ...problems(...JSON_BODY, 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      await emailTokens.forgotPassword(request.body.email);
      return reply.code(202).send({ accepted: true });
    },
  );

  r.post(
    '/v1/auth/password/reset',
    {
      preHandler: limit('password_reset', bodyField('token')),
      schema: { tags, summary: 'Set a new password with the token from the reset mail; ends every session', body: resetPasswordBody, response: { 204: z.undefined().describe('Password set'), ...problems(...JSON_BODY, 'invalid_token', 'password_policy', 'password_too_common', 'rate_limited', 'rate_limits_unavailable') } },
    },
    async (request, reply) => {
      await emailTokens.resetPassword(request.body.token, request.body.password, contextOf(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/auth/password/change',
    {
      preHandler: [requireUser(auth), limit('password_change', signedIn)],
      schema: {
        tags,
        security: authenticated,
        summary: 'Change the password; ends every session, this one included',
        body: changePasswordBody,
        response: { 204: z.undefined().describe('Password changed'), ...problems(...USER_ONLY_WRITE, ...JSON_BODY, 'invalid_credentials', 'password_policy', 'password_too_common', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      await service.changePassword(actorOf(request), request.body, contextOf(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/auth/2fa/setup',
    {
      preHandler: [requireUser(auth), limit('2fa', signedIn)],
      schema: { tags, security: authenticated, summary: 'Start TOTP enrolment: a new secret to scan', response: { 200: totpSetupResponse, ...problems(...USER_ONLY_WRITE, 'totp_already_enabled', 'rate_limited', 'rate_limits_unavailable') } },
    },
    (request) => twoFactor.setup(actorOf(request)),
  );

  r.post(
    '/v1/auth/2fa/enable',
    {
      preHandler: [requireUser(auth), limit('2fa', signedIn)],
      schema: {
        tags,
        security: authenticated,
        summary: 'Confirm TOTP with a code and the password; ends every other session; answers ten single-use recovery codes',
        description:
          'Accounts with a password send it as `password` (re-authentication). An account without one (signed up through OAuth) must have signed in within the last 10 minutes. Every other session and refresh token of the account ends; this one counts as signed in with the second factor from now on.',
        body: totpEnableBody,
        response: { 200: recoveryCodesResponse, ...problems(...USER_ONLY_WRITE, ...JSON_BODY, 'totp_already_enabled', 'totp_not_set_up', 'invalid_totp_code', 'password_required', 'invalid_credentials', 'reauthentication_required', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    (request) => twoFactor.enable(actorOf(request), request.body, currentSession(auth, request), contextOf(request)),
  );

  r.post(
    '/v1/auth/2fa/disable',
    {
      preHandler: [requireUser(auth), limit('2fa', signedIn)],
      schema: {
        tags,
        security: authenticated,
        summary: 'Turn TOTP off with a current code (or a recovery code) and the password; ends every other session',
        body: totpDisableBody,
        response: { 204: z.undefined().describe('Two-factor authentication is off'), ...problems(...USER_ONLY_WRITE, ...JSON_BODY, 'totp_not_enabled', 'invalid_totp_code', 'password_required', 'invalid_credentials', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      await twoFactor.disable(actorOf(request), request.body, currentSession(auth, request), contextOf(request));
      return reply.code(204).send();
    },
  );

  r.patch(
    '/v1/auth/me',
    {
      preHandler: requireUser(auth),
      schema: { tags, security: authenticated, summary: 'Change your profile: the name your account goes by', body: updateProfileBody, response: { 200: userResponse, ...problems(...USER_ONLY_WRITE, ...JSON_BODY) } },
    },
    (request) => service.updateProfile(actorOf(request), request.body, contextOf(request)),
  );

  r.get(
    '/v1/auth/sessions',
    {
      preHandler: requireUser(auth),
      schema: {
        tags,
        security: authenticated,
        summary: 'Your sessions that still work: browsers signed in to the web UI and API sign-ins, the current one marked',
        description: 'At most 100 of each kind, the current session first, then by last use. IP address and User-Agent are recorded from the sign-in (web) or the last refresh (API).',
        response: { 200: accountSessionsResponse, ...problems(...USER_ONLY) },
      },
    },
    async (request) => ({ items: await sessions.list(actorOf(request), currentSession(auth, request), core.config.accounts.webSessionIdleMs) }),
  );

  r.delete(
    '/v1/auth/sessions/:id',
    {
      preHandler: requireUser(auth),
      schema: {
        tags,
        security: authenticated,
        summary: 'Sign out one of your sessions (a browser or an API sign-in); the current one signs out like /v1/auth/logout',
        params: sessionIdParams,
        response: { 204: z.undefined().describe('Signed out'), ...problems(...USER_ONLY_WRITE, 'validation_failed', 'not_found') },
      },
    },
    async (request, reply) => {
      const current = currentSession(auth, request);
      await sessions.revoke(actorOf(request), request.params.id, contextOf(request));
      if (current.webSessionId === request.params.id) clearSessionCookies(reply, secureCookies);
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/auth/sessions/revoke-others',
    {
      preHandler: requireUser(auth),
      schema: { tags, security: authenticated, summary: 'Sign out every session of yours but this one', response: { 204: z.undefined().describe('Every other session ended'), ...problems(...USER_ONLY_WRITE) } },
    },
    async (request, reply) => {
      await sessions.revokeOthers(actorOf(request), currentSession(auth, request), contextOf(request));
      return reply.code(204).send();
    },
  );

  r.get(
    '/v1/auth/2fa',
    {
      preHandler: requireUser(auth),
      schema: { tags, security: authenticated, summary: 'Whether two-factor authentication is on, and how many recovery codes are left', response: { 200: twoFactorStatusResponse, ...problems(...USER_ONLY) } },
    },
    (request) => twoFactor.status(actorOf(request)),
  );

  r.post(
    '/v1/auth/2fa/recovery-codes',
    {
      preHandler: [requireUser(auth), limit('2fa', signedIn)],
      schema: {
        tags,
        security: authenticated,
        summary: 'Replace the recovery codes with ten new ones (a current code and the password); the old ones stop working',
        body: recoveryCodesBody,
        response: { 200: recoveryCodesResponse, ...problems(...USER_ONLY_WRITE, ...JSON_BODY, 'totp_not_enabled', 'invalid_totp_code', 'password_required', 'invalid_credentials', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    (request) => twoFactor.regenerateRecoveryCodes(actorOf(request), request.body, contextOf(request)),
  );

  r.get('/.well-known/jwks.json', { schema: { tags, summary: 'Public keys of the access-token signer' } }, () => tokens.jwks());
};
