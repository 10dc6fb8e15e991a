/**
 * The portal's REST API as one typed client, for every program that talks to it: the web UI
 * (web/src/api/client.ts adds its cookie session and CSRF header) and the `mosis` CLI
 * (src/cli/portal.ts adds its API key). The types come from the portal's own OpenAPI document
 * (scripts/openapi-document.ts writes generated/ from the routes' Zod schemas), so a path,
 * parameter or field the API does not have is a type error in both, and a contract change breaks
 * `npm run typecheck` rather than a page or a command.
 *
 *   const api = createPortalClient({ baseUrl });
 *   const apps = await unwrap(api.GET('/v1/apps', { params: { query: { limit: 50 } } }));
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import { ApiProblem } from './problem.js';
import type { paths } from './generated/schema.js';

export type { components, paths } from './generated/schema.js';
export { ApiProblem, fieldOf, isApiProblem, type ProblemFieldError } from './problem.js';

export type PortalClient = Client<paths>;

export function createPortalClient(options: ClientOptions): PortalClient {
  return createClient<paths>(options);
}

/**
 * The data of a successful answer; otherwise throws an ApiProblem (the problem+json the API sent,
 * or a network failure). An abort is rethrown as it is: the caller asked for it.
 */
export async function unwrap<Data>(pending: Promise<{ data?: Data; error?: unknown; response: Response }>): Promise<Data> {
  let answer: { data?: Data; error?: unknown; response: Response };
  try {
    answer = await pending;
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw ApiProblem.network(err);
  }
  if (!answer.response.ok) throw ApiProblem.fromResponse(answer.response, answer.error);
  return answer.data as Data;
}
