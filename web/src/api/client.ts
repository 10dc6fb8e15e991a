/**
 * The web UI's client of the portal's REST API: the shared typed client (@mosis/api-client, generated
 * from the OpenAPI document the routes' Zod schemas make): a path, parameter or field the API does not have is a
 * type error, so a contract change breaks `npm run typecheck` and the build, not a page.
 *
 *   const apps = await unwrap(api.GET('/v1/apps', { params: { query: { limit: 50 } }, signal }));
 *
 * Signed in with the cookie session of docs/accounts.md: the browser sends the httpOnly session
 * cookie (same origin), and every write echoes the CSRF cookie in X-CSRF-Token.
 */
import type { Middleware } from 'openapi-fetch';
import { createPortalClient } from '@mosis/api-client';

export { unwrap } from '@mosis/api-client';

const CSRF_COOKIES = ['__Host-mosis_csrf', 'mosis_csrf'];

/** The CSRF token of this browser's web session, if signed in: for writes made without `api` (an upload with progress). */
export function csrfToken(): string | null {
  const cookies = new Map(
    document.cookie
      .split(';')
      .map((pair) => pair.trim())
      .filter(Boolean)
      .map((pair) => {
        const eq = pair.indexOf('=');
        return [pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1))] as const;
      }),
  );
  for (const name of CSRF_COOKIES) {
    const value = cookies.get(name);
    if (value) return value;
  }
  return null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const csrf: Middleware = {
  onRequest({ request }) {
    if (SAFE_METHODS.has(request.method)) return undefined;
    const token = csrfToken();
    if (token) request.headers.set('X-CSRF-Token', token);
    return request;
  },
};

export const api = createPortalClient({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);
