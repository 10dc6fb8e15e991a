import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../shared/index.js';

/**
 * Every error leaves the portal as RFC 9457 problem+json with a stable `code`. 5xx answers say
 * nothing about the cause (the log has it, under the same request id).
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: readonly FieldError[];
  request_id: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

// Fastify's own error codes, mapped to the portal's stable codes.
const FASTIFY_CODES: Record<string, { code: string; status: number; detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', status: 413 },
  FST_REQ_FILE_TOO_LARGE: { code: 'payload_too_large', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', status: 415 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'validation_failed', status: 400, detail: 'The request body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', status: 400, detail: 'The request body is not valid JSON.' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: 'unsupported_media_type', status: 415 },
  FST_FILES_LIMIT: { code: 'validation_failed', status: 400, detail: 'Send exactly one file.' },
  FST_PARTS_LIMIT: { code: 'validation_failed', status: 400, detail: 'Too many form fields.' },
  FST_FIELDS_LIMIT: { code: 'validation_failed', status: 400, detail: 'Too many form fields.' },
};

export function problemType(code: string): string {
  return `https://mosis.dev/problems/${code.replace(/_/g, '-')}`;
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  fieldErrors?: readonly FieldError[],
): FastifyReply {
  const body: Problem = {
    type: problemType(code),
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Error'),
    status,
    detail,
    code,
    ...(fieldErrors && fieldErrors.length > 0 ? { errors: fieldErrors } : {}),
    request_id: String(reply.request.id),
  };
  return reply.code(status).type('application/problem+json').serializer(JSON.stringify).send(body);
}

function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Refused before the body was read (too large, not yours): close rather than read the rest of it.
  if (!request.raw.complete) void reply.header('connection', 'close');
  if (error instanceof AppError) {
    if (error.status === 503) void reply.header('retry-after', '30');
    return sendProblem(reply, error.status, error.code, error.message, error.errors);
  }
  if (error.validation) {
    const where = error.validationContext ?? 'body';
    const fieldErrors = error.validation.map((v) => ({
      path: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'is invalid',
    }));
    return sendProblem(reply, 400, 'validation_failed', `The request ${where} is invalid.`, fieldErrors);
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) {
    return sendProblem(reply, known.status, known.code, known.detail ?? error.message);
  }
  if (error.statusCode === 429) {
    return sendProblem(reply, 429, 'rate_limited', 'Too many requests; retry after the time in Retry-After.');
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return sendProblem(reply, error.statusCode, 'bad_request', error.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, 500, 'internal_error', 'Something went wrong on our side; quote the request_id if you report it.');
}

/**
 * Installs the error handler and the not-found handler. A path that exists under another method
 * answers 405 with an Allow header instead of 404.
 */
export function registerProblemHandlers(app: FastifyInstance, allowedMethods: (url: string) => string[]): void {
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request.url);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      return sendProblem(reply, 405, 'method_not_allowed', `${request.method} is not allowed here; use ${allowed.join(', ')}.`);
    }
    return sendProblem(reply, 404, 'not_found', `There is nothing at ${request.method} ${request.url.split('?')[0] ?? ''}.`);
  });
}
