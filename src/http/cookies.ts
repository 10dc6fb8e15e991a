import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The portal web UI's session cookie (httpOnly) and the CSRF token cookie the UI reads. */
export const SESSION_COOKIE = 'mosis_session';
export const CSRF_COOKIE = 'mosis_csrf';
export const CSRF_HEADER = 'x-csrf-token';

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
  const base = { path: '/', sameSite: 'lax' as const, secure: options.secure, maxAge: options.maxAgeSeconds };
  void reply.setCookie(SESSION_COOKIE, session.token, { ...base, httpOnly: true });
  void reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...base, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply, secure: boolean): void {
  for (const name of [SESSION_COOKIE, CSRF_COOKIE]) void reply.clearCookie(name, { path: '/', sameSite: 'lax', secure });
}
