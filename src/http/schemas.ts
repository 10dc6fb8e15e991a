import { z } from 'zod';

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

/** Documents the error answers of a route; the bodies are sent by the problem handler, not validated here. */
export function problemResponses(...statuses: number[]): Record<number, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema]));
}

/** OpenAPI security requirement of routes that take an access token or an API key. */
export const authenticated: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];
