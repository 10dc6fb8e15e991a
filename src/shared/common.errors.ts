import { defineErrors } from './errors.js';

/**
 * The cross-cutting codes: what http/ (parsing, authentication, rate limits, routing), storage/
 * and shared/ answer on any route. A feature's own codes live in its `<feature>.errors.ts`.
 */
export const commonErrors = defineErrors('common', {
  bad_request: { status: 400, title: 'The request cannot be read' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  validation_failed: { status: 400, title: 'The request is invalid' },
  invalid_cursor: { status: 400, title: 'The cursor is not one this API returned' },
  unauthorized: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'You may not do this' },
  insufficient_scope: { status: 403, title: 'The API key lacks a scope this needs' },
  api_key_not_allowed: { status: 403, title: 'API keys cannot be used here' },
  api_key_app_restricted: { status: 403, title: 'The API key is restricted to other apps' },
  csrf_failed: { status: 403, title: 'The CSRF token is missing or wrong' },
  // The role guard's (http/ requireRole): privileged roles need two-factor authentication.
  two_factor_required: { status: 403, title: 'Turn on two-factor authentication first' },
  two_factor_session_required: { status: 403, title: 'This session signed in without a two-factor code' },
  not_found: { status: 404, title: 'There is nothing at this address' },
  method_not_allowed: { status: 405, title: 'This method is not allowed here' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body has an unsupported media type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Something went wrong on our side' },
  // http/rate-limit.ts: an attempt that cannot be counted (the database is away) is not let through.
  rate_limits_unavailable: { status: 503, title: 'Attempts cannot be counted right now; try again shortly' },
  // storage/: the package store (an S3-compatible bucket) cannot be reached or answers errors.
  storage_unavailable: { status: 503, title: 'Package storage cannot be reached; try again shortly' },
  insufficient_storage: { status: 507, title: 'The server has no space left' },
});

/** Shorthand for throwing a common error: `commonError('unauthorized')`. */
export const commonError = commonErrors.error;

/** A body past its byte limit; said the same way by the upload guard and the storage meter. */
export const payloadTooLarge = (limitBytes: number) =>
  commonError('payload_too_large', `The request body is larger than the limit of ${limitBytes} bytes.`);
