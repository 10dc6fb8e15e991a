/**
 * The one error type services throw. The HTTP layer turns it into an RFC 9457 problem document;
 * `code` is a stable string that clients may branch on, so never rename one.
 */
export interface FieldError {
  /** JSON-pointer-ish location of the bad value, e.g. `body.email` or `manifest.json`. */
  readonly path: string;
  readonly message: string;
  readonly [extra: string]: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly errors?: readonly FieldError[],
  ) {
    super(message);
  }
}

/**
 * The caller reached for something that exists but is not theirs. It answers exactly like the
 * missing thing (ids cannot be probed), and the HTTP layer records it in the audit log as an
 * authorization failure, naming what was reached for.
 */
export class AccessDenied extends AppError {
  constructor(
    code: string,
    status: number,
    message: string,
    readonly target: { readonly type: string; readonly id: string },
  ) {
    super(code, status, message);
  }
}

/** Constructors for the errors every feature needs, so codes and statuses stay consistent. */
export const errors = {
  notFound: (code: string, message: string) => new AppError(code, 404, message),
  conflict: (code: string, message: string) => new AppError(code, 409, message),
  forbidden: (message = 'You may not do this.') => new AppError('forbidden', 403, message),
  unauthorized: (message = 'Authentication is required.') => new AppError('unauthorized', 401, message),
  invalid: (code: string, message: string, fieldErrors?: readonly FieldError[]) =>
    new AppError(code, 422, message, fieldErrors),
  tooLarge: (limitBytes: number) =>
    new AppError('payload_too_large', 413, `The request body is larger than the limit of ${limitBytes} bytes.`),
  /** The portal is too busy for this request right now; the answer carries Retry-After. */
  unavailable: (code: string, message: string) => new AppError(code, 503, message),
  insufficientStorage: () =>
    new AppError('insufficient_storage', 507, 'The server has no space left to store this upload; try again later.'),
};
