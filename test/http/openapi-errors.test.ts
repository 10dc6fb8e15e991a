import { expect, it } from 'vitest';
import { allErrorSpecs, loadErrorCatalogues } from '../../src/error-catalogue.js';
import { describeOnSqlite } from '../support/portal.js';

type ProblemSchema = { allOf: [{ $ref: string }, { properties: { code: { enum: string[] } } }] };
interface ErrorResponse {
  description: string;
  content: { 'application/json': { schema: ProblemSchema & { anyOf?: Array<Partial<ProblemSchema>> } } };
}
type Operations = Record<string, Record<string, { responses: Record<string, unknown> }>>;

describeOnSqlite('OpenAPI error codes', (portal) => {
  it('lists, per route and status, the codes the route declares, each with its catalogue status and title', async () => {
    const doc = (await portal().app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{ paths: Operations }>();
    const catalogue = new Map(allErrorSpecs(await loadErrorCatalogues()).map((spec) => [spec.code, spec]));

    const codesOf = (path: string, method: string, status: number) => {
      const response = doc.paths[path]?.[method]?.responses[String(status)] as ErrorResponse | undefined;
      return response?.content['application/json'].schema.allOf[1].properties.code.enum;
    };
    expect(codesOf('/v1/apps/{app_id}', 'delete', 404)).toEqual(['app_not_found']);
    expect(codesOf('/v1/apps/{app_id}', 'delete', 409)).toEqual(['app_has_published_versions']);
    expect(codesOf('/v1/apps/{app_id}/versions', 'post', 422)).toEqual(['package_invalid']);
    expect(codesOf('/v1/apps/{app_id}/versions', 'post', 503)).toEqual(['checks_busy']);
    expect(codesOf('/v1/auth/login', 'post', 401)).toEqual(['invalid_credentials', 'totp_required', 'invalid_totp_code']);

    let errorResponses = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      // The readiness probe answers its own report, not a problem document.
      if (path === '/readyz') continue;
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          errorResponses += 1;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          const { description, content } = response as ErrorResponse;
          // The device grant's client routes answer RFC 6749 errors beside problem documents on 400.
          const schema = content['application/json'].schema;
          const problemSchema = schema.anyOf === undefined ? schema : schema.anyOf.find((variant) => variant.allOf !== undefined);
          if (schema.anyOf !== undefined) expect(path, where).toMatch(/^\/v1\/auth\/device\/(code|token)$/);
          const [problem, narrowed] = (problemSchema?.allOf ?? []) as ProblemSchema['allOf'];
          expect(problem.$ref, where).toBe('#/components/schemas/Problem');
          expect(narrowed.properties.code.enum.length, where).toBeGreaterThan(0);
          for (const code of narrowed.properties.code.enum) {
            const spec = catalogue.get(code);
            expect(spec?.status, `${where} ${code}`).toBe(Number(status));
            expect(description, where).toContain(`\`${code}\`: ${spec?.title ?? ''}`);
          }
        }
      }
    }
    expect(errorResponses).toBeGreaterThan(100);
  });
});
