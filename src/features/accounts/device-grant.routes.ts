import type { FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, requireUser } from '../../http/auth.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { clientBudgetKey, rateLimit, type RateLimits, type RateRule } from '../../http/rate-limit.js';
import { authenticated, problemsOf, JSON_BODY, USER_ONLY, USER_ONLY_WRITE } from '../../http/schemas.js';
import { sha256Hex } from '../../shared/index.js';
import { accountsErrors } from './accounts.errors.js';
import type { PortalAuthenticator } from './authenticator.js';
import {
  deviceCodeBody,
  deviceCodeResponse,
  deviceDecisionBody,
  deviceGrantErrorResponse,
  deviceLookupQuery,
  deviceLookupResponse,
  deviceRequestResponse,
  deviceTokenBody,
  deviceTokenResponse,
  revokeBody,
  revokedResponse,
} from './device-grant.schemas.js';
import { DeviceGrantError, type DeviceGrantService } from './device-grant.service.js';
import type { ApiKeysService } from '../keys/index.js';

const problems = problemsOf(accountsErrors);

/**
 * The client routes answer RFC 6749 errors (`{error, error_description}`, 400) for what the grant
 * refuses, and the portal's problem+json for what the HTTP layer refuses (a body that is not JSON
 * or fails its schema, too large, too many requests): both shapes are declared for 400.
 */
function clientResponses() {
  const plumbing = problems(...JSON_BODY, 'payload_too_large', 'rate_limited', 'rate_limits_unavailable');
  const problem400 = plumbing[400];
  return { ...plumbing, 400: problem400 === undefined ? deviceGrantErrorResponse : z.union([deviceGrantErrorResponse, problem400]).describe(`An RFC 6749 error, or: ${problem400.description ?? ''}`) };
}

/** RFC 8628 clients send their requests as a form; a code request or a poll is a few hundred bytes. */
const FORM_LIMIT_BYTES = 4096;
/** A poll every interval for the code's 10 minutes is 120; a client well past that is broken or hostile. */
const POLLS_PER_CODE = 300;

export interface DeviceGrantRoutesCore {
  deviceGrant: DeviceGrantService;
  apiKeys: ApiKeysService;
  auth: PortalAuthenticator;
  rateLimiter: RateLimits;
  config: { accounts: { rateLimit: { windowMs: number; perIp: number; perAccount: number } } };
}

/**
 * The device grant's routes (device-grant.service.ts): the client's two (code, token: public, in
 * the RFC's form and error shapes), the approval page's three (signed in to the web UI, never with
 * an API key: a key must not approve a key), and token revocation (RFC 7009) for `mosis logout`.
 */
export const deviceGrantRoutes: FeatureRoutes<DeviceGrantRoutesCore> = (app, { core }) => {
  const { deviceGrant, apiKeys, auth, rateLimiter: limiter } = core;
  const limits = core.config.accounts.rateLimit;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['accounts'];

  // This scope's own parser: only these routes take forms.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const perIp: RateRule = { name: 'device_code:ip', max: limits.perIp, windowMs: limits.windowMs, key: (request) => clientBudgetKey(request.ip) };
  const pollsPerCode: RateRule = {
    name: 'device_token:code',
    max: POLLS_PER_CODE,
    windowMs: limits.windowMs,
    key: (request) => {
      const code = (request.body as { device_code?: unknown } | undefined)?.device_code;
      return typeof code === 'string' ? sha256Hex(code) : null;
    },
  };
  // Many logins behind one address (a CI farm) poll at once; random device codes from one address are not a way around pollsPerCode.
  const pollsPerIp: RateRule = { name: 'device_token:ip', max: limits.perIp * 10, windowMs: limits.windowMs, key: (request) => clientBudgetKey(request.ip) };
  // Guessing a code needs many tries: a person gets the account budget's worth per window (typing it twice wrong is fine).
  const perUser: RateRule = { name: 'device_approval:user', max: limits.perAccount * 3, windowMs: limits.windowMs, key: (request) => request.actor?.userId ?? null };
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

  r.post(
    '/v1/auth/device/code',
    {
      attachValidation: true,
      preHandler: rateLimit(limiter, [perIp]),
      schema: {
        tags,
        summary: 'Start a device sign-in (RFC 8628): a code for the person to approve at /device',
        description:
          'JSON or application/x-www-form-urlencoded. `scope` is space-separated API key scopes (default: apps:read apps:write versions:upload versions:publish keys:manage). ' +
          'Poll /v1/auth/device/token with the device_code every `interval` seconds until the person approves or denies it at `verification_uri`, or it expires.',
        body: deviceCodeBody,
        response: { 200: deviceCodeResponse, ...clientResponses() },
      },
    },
    async (request, reply) => {
      try {
        if (request.validationError) throw invalidRequest(request.validationError);
        return await noStore(reply).send(await deviceGrant.requestCode(request.body, request.ip));
      } catch (error) {
        return sendGrantError(reply, error);
      }
    },
  );

  r.post(
    '/v1/auth/device/token',
    {
      attachValidation: true,
      preHandler: rateLimit(limiter, [pollsPerCode, pollsPerIp]),
      schema: {
        tags,
        summary: 'Poll a device sign-in (RFC 8628): the API key once approved, else an RFC 8628 error',
        description:
          'JSON or application/x-www-form-urlencoded, `grant_type` = `urn:ietf:params:oauth:grant-type:device_code`. ' +
          'Errors are RFC 6749 `{error, error_description}` with 400: `authorization_pending` (poll again after `interval`), ' +
          '`slow_down` (polled sooner than the interval: it grows by 5 seconds), `access_denied`, `expired_token`, `invalid_grant` (unknown or already used), ' +
          '`unsupported_grant_type`. On approval the answer carries a new API key (`access_token`, `mk_live_…`) with the scopes asked for, ' +
          'expiring in 90 days, handed over once; it is listed with the account\'s API keys and revoked by /v1/auth/revoke.',
        body: deviceTokenBody,
        response: { 200: deviceTokenResponse, ...clientResponses() },
      },
    },
    async (request, reply) => {
      try {
        if (request.validationError) throw invalidRequest(request.validationError);
        return await noStore(reply).send(await deviceGrant.poll(request.body.grant_type, request.body.device_code, request.ip));
      } catch (error) {
        return sendGrantError(reply, error);
      }
    },
  );

  r.get(
    '/v1/auth/device',
    {
      preHandler: [requireUser(auth), rateLimit(limiter, [perUser])],
      schema: {
        tags,
        security: authenticated,
        summary: 'What a pending device sign-in asks for (the /device page)',
        querystring: deviceLookupQuery,
        response: { 200: deviceLookupResponse, ...problems(...USER_ONLY, 'validation_failed', 'device_code_not_found', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    (request) => deviceGrant.lookup(request.query.user_code, request.ip),
  );

  for (const [path, decision] of [
    ['/v1/auth/device/approve', 'approved'],
    ['/v1/auth/device/deny', 'denied'],
  ] as const) {
    r.post(
      path,
      {
        preHandler: [requireUser(auth), rateLimit(limiter, [perUser])],
        schema: {
          tags,
          security: authenticated,
          summary: decision === 'approved' ? 'Approve a device sign-in: its client receives an API key of yours' : 'Deny a device sign-in',
          body: deviceDecisionBody,
          response: { 200: deviceRequestResponse, ...problems(...USER_ONLY_WRITE, ...JSON_BODY, 'device_code_not_found', 'rate_limited', 'rate_limits_unavailable') },
        },
      },
      (request) => deviceGrant.decide(actorOf(request), request.body.user_code, decision, request.ip),
    );
  }

  r.post(
    '/v1/auth/revoke',
    {
      preHandler: rateLimit(limiter, [{ ...perIp, name: 'token_revoke:ip' }]),
      schema: {
        tags,
        summary: 'Revoke an API key by presenting it (RFC 7009): what `mosis logout` calls',
        description: 'JSON or application/x-www-form-urlencoded `{token}`. Answers 200 whether or not the token was a live key, so it tells nothing about keys one does not hold.',
        body: revokeBody,
        response: { 200: revokedResponse, ...problems(...JSON_BODY, 'payload_too_large', 'rate_limited', 'rate_limits_unavailable') },
      },
    },
    async (request, reply) => {
      await apiKeys.revokePresented(request.body.token, request.ip);
      return noStore(reply).send({});
    },
  );
};

function sendGrantError(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof DeviceGrantError)) throw error;
  return reply.code(400).header('cache-control', 'no-store').header('pragma', 'no-cache').send({ error: error.error, error_description: error.message });
}

/** A request the schema refuses (a parameter missing or too long) is RFC 6749's invalid_request here, not a problem document. */
function invalidRequest(error: Error): DeviceGrantError {
  return new DeviceGrantError('invalid_request', `The request is missing a parameter or has one that is too long: ${error.message}`);
}
