/**
 * The API's errors as its clients (the web UI, the CLI) see them. Every error the portal answers is RFC 9457
 * problem+json (src/http/problem.ts): `{type, title, status, detail, code, errors?, request_id}`,
 * where `errors` names fields as `body.email`, `querystring.sort`, `body.crash_guard.min_sessions`.
 */

export interface ProblemFieldError {
  path: string;
  message: string;
}

/** A failed API call: what the problem document said, or what we know when there was none. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code: string;
  readonly errors: readonly ProblemFieldError[];
  readonly requestId: string | null;

  constructor(init: { status: number; title: string; detail: string; code: string; errors?: readonly ProblemFieldError[]; requestId?: string | null }) {
    super(init.detail || init.title);
    this.name = 'ApiProblem';
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.code = init.code;
    this.errors = init.errors ?? [];
    this.requestId = init.requestId ?? null;
  }

  /** From an answer that is not 2xx and its parsed body (openapi-fetch's `error`), whatever it holds. */
  static fromResponse(response: Response, body: unknown): ApiProblem {
    if (isProblemDocument(body)) {
      return new ApiProblem({
        status: body.status,
        title: body.title,
        detail: body.detail,
        code: body.code,
        errors: Array.isArray(body.errors) ? body.errors.filter(isFieldError) : [],
        requestId: typeof body.request_id === 'string' ? body.request_id : null,
      });
    }
    // A proxy's HTML error page, or an empty body: say what we know.
    return new ApiProblem({
      status: response.status,
      title: response.status >= 500 ? 'The portal could not answer' : 'The request was refused',
      detail: `The portal answered ${response.status} ${response.statusText}`.trim() + '.',
      code: response.status >= 500 ? 'internal_error' : 'bad_request',
    });
  }

  /** The request never got an answer (offline, the portal restarting). */
  static network(cause: unknown): ApiProblem {
    const problem = new ApiProblem({
      status: 0,
      title: 'The portal did not answer',
      detail: 'Check your connection and try again.',
      code: 'network_error',
    });
    problem.cause = cause;
    return problem;
  }

  /** The message the API gave for one field (`email`, or a nested `crash_guard.min_sessions`), if any. */
  fieldMessage(field: string): string | undefined {
    return this.errors.find((error) => fieldOf(error.path) === field)?.message;
  }
}

/** `body.email` → `email`; the request part a field sat in does not matter to a form. */
export function fieldOf(path: string): string {
  return path.replace(/^(?:body|querystring|params|headers)(?:\.|$)/, '');
}

export function isApiProblem(error: unknown): error is ApiProblem {
  return error instanceof ApiProblem;
}

interface ProblemDocument {
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: unknown;
  request_id?: unknown;
}

function isProblemDocument(body: unknown): body is ProblemDocument {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b['title'] === 'string' && typeof b['status'] === 'number' && typeof b['code'] === 'string' && typeof b['detail'] === 'string';
}

function isFieldError(value: unknown): value is ProblemFieldError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['path'] === 'string' && typeof v['message'] === 'string';
}
