/**
 * The one error type services throw, and the catalogues that declare every code it can carry.
 * The HTTP layer turns an AppError into an RFC 9457 problem document; `code` is a stable string
 * that clients may branch on, so never rename one, and a code has one HTTP status everywhere.
 *
 * An AppError is made only from a catalogue entry (`defineErrors`): a throw site names the code,
 * never the status, and the type checker refuses a code its catalogue does not declare.
 */
export interface FieldError {
  /** JSON-pointer-ish location of the bad value, e.g. `body.email` or `manifest.json`. */
  readonly path: string;
  readonly message: string;
  readonly [extra: string]: unknown;
}

/** The statuses the portal answers errors with; a new one needs a reason (and a title in problem.ts). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 416 | 422 | 429 | 500 | 503 | 507;

/** One declared error: what clients branch on (`code`), its HTTP status and a one-line title. */
export interface ErrorSpec<Code extends string = string> {
  readonly code: Code;
  readonly status: ErrorStatus;
  /** Short, fixed summary of the problem type (the problem document's `title`). */
  readonly title: string;
  /** The catalogue that declares it: a feature's name, or `common` for the cross-cutting codes. */
  readonly owner: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: string;
  readonly status: ErrorStatus;
  readonly title: string;

  /** Made by a catalogue (`someErrors.error(code, …)`), never by hand at a throw site. */
  constructor(
    readonly spec: ErrorSpec,
    message: string = spec.title,
    readonly errors?: readonly FieldError[],
  ) {
    super(message);
    this.code = spec.code;
    this.status = spec.status;
    this.title = spec.title;
  }
}

/**
 * The caller reached for something that exists but is not theirs. It answers exactly like the
 * missing thing (ids cannot be probed), and the HTTP layer records it in the audit log as an
 * authorization failure, naming what was reached for.
 */
export class AccessDenied extends AppError {
  constructor(
    spec: ErrorSpec,
    message: string,
    readonly target: { readonly type: string; readonly id: string },
  ) {
    super(spec, message);
  }
}

export interface ErrorCatalogue<Code extends string> {
  readonly owner: string;
  /** Every entry, in declaration order. */
  readonly specs: readonly ErrorSpec<Code>[];
  readonly spec: (code: Code) => ErrorSpec<Code>;
  /** The error to throw; `detail` says what went wrong this time (defaults to the title). */
  readonly error: (code: Code, detail?: string, fieldErrors?: readonly FieldError[]) => AppError;
  /** Someone else's thing: answers as `code` and is audited as a denial of `target`. */
  readonly denied: (code: Code, detail: string, target: { readonly type: string; readonly id: string }) => AccessDenied;
}

/** Any catalogue, whatever its codes: what lists of catalogues are typed as. */
export interface AnyErrorCatalogue {
  readonly owner: string;
  readonly specs: readonly ErrorSpec[];
}

export type CodeOf<C> = C extends { readonly specs: readonly ErrorSpec<infer Code>[] } ? Code : never;

/**
 * Declares the error codes of one feature (or layer). Every catalogue is listed in
 * src/error-catalogue.ts, whose test checks that no code is declared twice and that
 * docs/errors.md lists exactly these.
 */
export function defineErrors<const Declared extends Record<string, { readonly status: ErrorStatus; readonly title: string }>>(
  owner: string,
  declared: Declared,
): ErrorCatalogue<keyof Declared & string> {
  type Code = keyof Declared & string;
  const byCode = new Map<string, ErrorSpec<Code>>();
  for (const [code, { status, title }] of Object.entries(declared)) {
    byCode.set(code, Object.freeze({ code, status, title, owner }));
  }
  const spec = (code: Code): ErrorSpec<Code> => {
    const found = byCode.get(code);
    // Only reachable by a cast around the type checker.
    if (!found) throw new Error(`${owner} declares no error code ${code}`);
    return found;
  };
  return Object.freeze({
    owner,
    specs: Object.freeze([...byCode.values()]),
    spec,
    error: (code: Code, detail?: string, fieldErrors?: readonly FieldError[]) => new AppError(spec(code), detail, fieldErrors),
    denied: (code: Code, detail: string, target: { readonly type: string; readonly id: string }) => new AccessDenied(spec(code), detail, target),
  });
}
