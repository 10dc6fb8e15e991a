/**
 * The API's errors as the web UI's forms show them. ApiProblem itself (the RFC 9457 problem+json
 * the portal answers, or a network failure) is the shared client's: @mosis/api-client.
 */
import { ApiProblem, fieldOf } from '@mosis/api-client';

export { ApiProblem, fieldOf, isApiProblem, type ProblemFieldError } from '@mosis/api-client';

/**
 * A form's view of a problem: each field's message, and what is left for the form as a whole.
 * `codeFields` attaches a code that names no field to the field it is about
 * (`{ password_too_common: 'password' }`), so the message sits where the person can fix it.
 */
export interface FormProblem {
  /** The message for this field, or undefined. */
  field(name: string): string | undefined;
  /** The problem's title and detail, and any field message no rendered field took; null when there is nothing to say. */
  general: { title: string; detail: string; messages: readonly string[]; code: string } | null;
}

export function formProblem(error: unknown, fields: readonly string[], codeFields: Readonly<Record<string, string>> = {}): FormProblem {
  if (error === null || error === undefined) return { field: () => undefined, general: null };
  const problem = error instanceof ApiProblem ? error : ApiProblem.network(error);
  const byField = new Map<string, string>();
  const unplaced: string[] = [];
  for (const fieldError of problem.errors) {
    const name = fieldOf(fieldError.path);
    if (fields.includes(name) && !byField.has(name)) byField.set(name, fieldError.message);
    else unplaced.push(name === '' ? fieldError.message : `${name}: ${fieldError.message}`);
  }
  const codeField = codeFields[problem.code];
  if (codeField !== undefined && fields.includes(codeField) && !byField.has(codeField)) byField.set(codeField, problem.detail);
  const allPlaced = byField.size > 0 && unplaced.length === 0;
  return {
    field: (name) => byField.get(name),
    // Field errors placed: the form still says that it was refused, briefly, where a screen reader hears it.
    general: codeField !== undefined && allPlaced ? null : { title: problem.title, detail: allPlaced ? 'Check the fields marked below.' : problem.detail, messages: unplaced, code: problem.code },
  };
}
