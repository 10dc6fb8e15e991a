import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { commonError, type Actor, type Role, type Scope } from '../shared/index.js';

/** Turns the credentials of a request into an Actor; implemented by the accounts feature. */
export interface AuthenticateOptions {
  /**
   * The credential of a request already let in is checked again (a live stream, each heartbeat):
   * still valid, but the check is not use, so a web session's idle time is not reset.
   */
  recheck?: boolean;
}

export interface Authenticator {
  /** Returns null when the request carries no credentials; throws AppError 401 for bad ones. */
  authenticate(request: FastifyRequest, options?: AuthenticateOptions): Promise<Actor | null>;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/**
 * A preHandler that requires a signed-in caller and, for API keys, the scope the route needs.
 * Every route that is not public declares one of these, so the check cannot be forgotten in a handler.
 */
export function requireActor(authenticator: Authenticator, scope?: Scope): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const actor = await authenticator.authenticate(request);
    if (!actor) {
      void reply.header('www-authenticate', 'Bearer');
      throw commonError('unauthorized', 'Authentication is required.');
    }
    // Set before the scope check so that a refusal is audited under the caller who was refused.
    request.actor = actor;
    if (scope && actor.scopes && !actor.scopes.includes(scope)) {
      throw commonError('insufficient_scope', `This API key lacks the ${scope} scope.`);
    }
  };
}

/**
 * Like requireActor, for routes that manage the account itself (logout, password, 2FA, admin): an
 * API key never reaches them, whatever its scopes, because no scope grants account control.
 */
export function requireUser(authenticator: Authenticator): preHandlerAsyncHookHandler {
  const guard = requireActor(authenticator);
  return async function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
    await guard.call(this as never, request, reply);
    if (request.actor?.scopes !== null) {
      throw commonError('api_key_not_allowed', 'API keys cannot be used here; sign in with your account.');
    }
  };
}

/** Decides whether an actor holds a privileged role (and its 2FA rule); the accounts feature's admin service. */
export interface RoleCheck {
  assertRole(actor: Actor, roles: readonly Role[]): Promise<unknown>;
}

/**
 * The guard of routes for privileged roles: signed in as the user (no API key), holding one of the
 * roles, with TOTP on when REQUIRE_2FA_ROLES asks for it. Admin routes use ['admin'], review
 * routes ['reviewer', 'admin'].
 */
export function requireRole(authenticator: Authenticator, check: RoleCheck, roles: readonly Role[]): preHandlerAsyncHookHandler {
  const user = requireUser(authenticator);
  return async function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
    await user.call(this as never, request, reply);
    await check.assertRole(actorOf(request), roles);
  };
}

/** The caller of a route guarded by requireActor. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw commonError('unauthorized', 'Authentication is required.');
  return request.actor;
}

/** The credential a request presents: a Bearer token or an X-API-Key header. */
export function credentialOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw commonError('unauthorized', 'The Authorization header must be "Bearer <token>".');
    return match[1];
  }
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key : null;
}
