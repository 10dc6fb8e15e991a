/**
 * The portal's REST API, typed from its OpenAPI document (scripts/openapi-document.ts writes
 * schema.d.ts from the routes' Zod schemas): a path, parameter or field the API does not have is a
 * type error, so a contract change breaks `npm run typecheck` and the build, not a page.
 *
 *   const apps = await unwrap(api.GET('/v1/apps', { params: { query: { limit: 50 } }, signal }));
 *
 * Signed in with the cookie session of docs/accounts.md: the browser sends the httpOnly session
 * cookie (same origin), and every write echoes the CSRF cookie in X-CSRF-Token.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import { ApiProblem } from './problem';
import type { paths } from './schema';

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

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);

/**
 * The data of a successful answer; otherwise throws an ApiProblem (the problem+json the API sent,
 * or a network failure): what react-query's queryFn and mutationFn want.
 */
export async function unwrap<Data>(pending: Promise<{ data?: Data; error?: unknown; response: Response }>): Promise<Data> {
  let answer: { data?: Data; error?: unknown; response: Response };
  try {
    answer = await pending;
  } catch (err) {
    // An aborted query is react-query's business, not a problem to show.
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw ApiProblem.network(err);
  }
  if (!answer.response.ok) throw ApiProblem.fromResponse(answer.response, answer.error);
  return answer.data as Data;
}
