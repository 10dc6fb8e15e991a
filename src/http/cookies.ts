import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The portal web UI's session cookie (httpOnly) and the CSRF token cookie the UI reads. */
export const SESSION_COOKIE = 'mosis_session';
export const CSRF_COOKIE = 'mosis_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Over https the cookies carry the `__Host-` prefix: the browser then accepts them only with
 * Secure, Path=/ and no Domain, so a sibling subdomain (or a plain-http page) cannot plant or
 * overwrite them (cookie tossing, session fixation).
 */
const HOST_PREFIX = '__Host-';

export function sessionCookieNames(secure: boolean): { session: string; csrf: string } {
  const prefix = secure ? HOST_PREFIX : '';
  return { session: prefix + SESSION_COOKIE, csrf: prefix + CSRF_COOKIE };
}

export async function registerCookies(app: FastifyInstance): Promise<void> {
  await app.register(cookie);
}

export interface SessionCookieOptions {
  secure: boolean;
  maxAgeSeconds: number;
}

/**
 * Sets the session cookie (httpOnly: scripts never see it; SameSite=Lax: other sites' forms do not
 * send it) and a readable CSRF cookie the UI echoes in X-CSRF-Token on writes.
 */
export function setSessionCookies(reply: FastifyReply, session: { token: string; csrfToken: string }, options: SessionCookieOptions): void {
  // No Domain, ever: the __Host- prefix forbids it, and without it the cookie stays on this host.
  const base = { path: '/', sameSite: 'lax' as const, secure: options.secure, maxAge: options.maxAgeSeconds };
  const names = sessionCookieNames(options.secure);
  void reply.setCookie(names.session, session.token, { ...base, httpOnly: true });
  void reply.setCookie(names.csrf, session.csrfToken, { ...base, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply, secure: boolean): void {
  const names = sessionCookieNames(secure);
  for (const name of [names.session, names.csrf]) void reply.clearCookie(name, { path: '/', sameSite: 'lax', secure });
}
