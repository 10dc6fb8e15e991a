import { z } from 'zod';
import { commonErrors, type AnyErrorCatalogue, type CodeOf, type ErrorSpec } from '../shared/index.js';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() }).passthrough()).optional(),
    request_id: z.string(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable `code`' });

type CatalogueCodes<Catalogues extends readonly AnyErrorCatalogue[]> = CodeOf<typeof commonErrors> | CodeOf<Catalogues[number]>;

/**
 * The error answers of a route, from the codes it declares: per status, the Problem document with
 * `code` limited to those codes (an enum a client can generate from) and a description listing
 * each with its title, as /docs/api shows it. The bodies are sent by the problem handler, not
 * validated here. Statuses and titles come from the catalogue, so they cannot drift from it.
 */
export function problemResponses(...specs: readonly ErrorSpec[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorSpec[]>();
  for (const spec of specs) {
    const same = byStatus.get(spec.status) ?? [];
    if (!same.some((known) => known.code === spec.code)) same.push(spec);
    byStatus.set(spec.status, same);
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, same]) => {
      const codes = same.map((spec) => spec.code) as [string, ...string[]];
      const description = same.map((spec) => `\`${spec.code}\`: ${spec.title}`).join('; ');
      // The shared Problem by reference, narrowed to this route's codes: short in the document.
      const schema = z.intersection(problemSchema, z.looseObject({ code: z.enum(codes) })).describe(description);
      return [status, schema];
    }),
  );
}

/**
 * A route file's typed way to declare its error codes: `problemsOf(appsErrors)` gives a function
 * taking any common code or any code of those catalogues, e.g.
 * `...problems(...SIGNED_IN, 'validation_failed', 'app_not_found')`. A misspelt code does not compile.
 */
export function problemsOf<const Catalogues extends readonly AnyErrorCatalogue[]>(
  ...catalogues: Catalogues
): (...codes: readonly CatalogueCodes<Catalogues>[]) => Record<number, z.ZodType> {
  const byCode = new Map<string, ErrorSpec>();
  for (const catalogue of [...catalogues].reverse().concat(commonErrors)) for (const spec of catalogue.specs) byCode.set(spec.code, spec);
  const find = (code: string): ErrorSpec => {
    const spec = byCode.get(code);
    if (!spec) throw new Error(`no catalogue declares ${code}`);
    return spec;
  };
  // Made once per set of codes: every portal a process builds (a test makes hundreds) shares them.
  const made = new Map<string, Record<number, z.ZodType>>();
  return (...codes) => {
    const key = codes.join(',');
    let responses = made.get(key);
    if (!responses) {
      responses = problemResponses(...codes.map(find));
      made.set(key, responses);
    }
    return responses;
  };
}

// Codes that whole kinds of route answer, for spreading into problems(…).
/** Behind requireActor: no or a bad credential, an API key without the scope. */
export const SIGNED_IN = ['unauthorized', 'insufficient_scope'] as const;
/** Behind requireActor, a write: the web UI's cookie session also needs its CSRF token. */
export const SIGNED_IN_WRITE = [...SIGNED_IN, 'csrf_failed'] as const;
/** Behind requireUser or requireRole: an API key is refused whatever its scopes. */
export const USER_ONLY = ['unauthorized', 'api_key_not_allowed'] as const;
export const USER_ONLY_WRITE = [...USER_ONLY, 'csrf_failed'] as const;
/** Behind requireRole (admin, reviewer): another role, or no second factor where the role needs one. */
export const PRIVILEGED = [...USER_ONLY_WRITE, 'forbidden', 'two_factor_required', 'two_factor_session_required'] as const;
/** A JSON body (and usually params): it may not parse or not validate. */
export const JSON_BODY = ['validation_failed', 'malformed_json'] as const;
/** A paged list: `limit` and `cursor` are checked. */
export const PAGED = ['validation_failed', 'invalid_cursor'] as const;
/** A streamed upload (http/upload.ts and the blob store). */
export const UPLOAD = ['payload_too_large', 'unsupported_media_type', 'insufficient_storage'] as const;

/** OpenAPI security requirement of routes that take an access token or an API key. */
export const authenticated: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];
