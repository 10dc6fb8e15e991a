import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, commonErrors, type CodeOf, type ErrorSpec, type FieldError } from '../shared/index.js';

type CommonCode = CodeOf<typeof commonErrors>;

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

// Fastify's own error codes, mapped to the portal's stable codes.
const FASTIFY_CODES: Record<string, { code: CommonCode; detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large' },
  FST_REQ_FILE_TOO_LARGE: { code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'validation_failed', detail: 'The request body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', detail: 'The request body is not valid JSON.' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { code: 'unsupported_media_type' },
  FST_FILES_LIMIT: { code: 'validation_failed', detail: 'Send exactly one file.' },
  FST_PARTS_LIMIT: { code: 'validation_failed', detail: 'Too many form fields.' },
  FST_FIELDS_LIMIT: { code: 'validation_failed', detail: 'Too many form fields.' },
};

/**
 * Any other 4xx a plugin raises answers the common code of its status, or bad_request (400):
 * a code keeps one status, so `bad_request` is never sent with another one.
 */
const BY_STATUS: Partial<Record<number, CommonCode>> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export function problemType(code: string): string {
  return `https://mosis.dev/problems/${code.replace(/_/g, '-')}`;
}

/** Sends a problem document for a declared error; the status and title come from its catalogue entry. */
export function sendProblem(reply: FastifyReply, spec: ErrorSpec, detail: string, fieldErrors?: readonly FieldError[]): FastifyReply {
  const body: Problem = {
    type: problemType(spec.code),
    title: spec.title,
    status: spec.status,
    detail,
    code: spec.code,
    ...(fieldErrors && fieldErrors.length > 0 ? { errors: fieldErrors } : {}),
    request_id: String(reply.request.id),
  };
  return reply.code(spec.status).type('application/problem+json').serializer(JSON.stringify).send(body);
}

const common = (code: CommonCode) => commonErrors.spec(code);

function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Refused before the body was read (too large, not yours): close rather than read the rest of it.
  if (!request.raw.complete) void reply.header('connection', 'close');
  if (error instanceof AppError) {
    // A route that knows better (the store: 5 s) set its own; onError hooks run before this handler.
    if (error.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '30');
    // A 5xx says nothing of its cause to the client (storage_unavailable: the S3 error); the log does.
    if (error.status >= 500 && error.cause !== undefined) request.log.warn({ err: error.cause, code: error.code }, 'answered a 5xx for this cause');
    return sendProblem(reply, error.spec, error.message, error.errors);
  }
  if (error.validation) {
    const where = error.validationContext ?? 'body';
    const fieldErrors = error.validation.map((v) => ({
      path: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'is invalid',
    }));
    return sendProblem(reply, common('validation_failed'), `The request ${where} is invalid.`, fieldErrors);
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) {
    return sendProblem(reply, common(known.code), known.detail ?? error.message);
  }
  if (error.statusCode === 429) {
    return sendProblem(reply, common('rate_limited'), 'Too many requests; retry after the time in Retry-After.');
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return sendProblem(reply, common(BY_STATUS[error.statusCode] ?? 'bad_request'), error.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, common('internal_error'), 'Something went wrong on our side; quote the request_id if you report it.');
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
      return sendProblem(reply, common('method_not_allowed'), `${request.method} is not allowed here; use ${allowed.join(', ')}.`);
    }
    return sendProblem(reply, common('not_found'), `There is nothing at ${request.method} ${request.url.split('?')[0] ?? ''}.`);
  });
}
