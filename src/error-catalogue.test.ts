import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allErrorSpecs, errorCatalogueFiles, isCatalogue, loadErrorCatalogues, renderErrorsDoc } from './error-catalogue.js';
import { appsErrors } from './features/apps/apps.errors.js';
import { AppError, defineErrors } from './shared/index.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(SRC, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const catalogues = await loadErrorCatalogues();

describe('the error catalogue', () => {
  it('declares each code once, with one status and a title', () => {
    const specs = allErrorSpecs(catalogues);
    const owners = new Map<string, string[]>();
    for (const spec of specs) owners.set(spec.code, [...(owners.get(spec.code) ?? []), spec.owner]);
    const twice = [...owners].filter(([, where]) => where.length > 1);
    expect(twice).toEqual([]);
    for (const spec of specs) {
      expect(spec.code, spec.code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      expect(spec.status, spec.code).toBeGreaterThanOrEqual(400);
      expect(spec.status, spec.code).toBeLessThan(600);
      expect(spec.title.length, spec.code).toBeGreaterThan(0);
    }
    // The codes the API answered before the catalogue keep their status (they are public API).
    const status = Object.fromEntries(specs.map((spec) => [spec.code, spec.status]));
    expect(status).toMatchObject({
      validation_failed: 400, unauthorized: 401, forbidden: 403, not_found: 404, app_not_found: 404,
      package_id_taken: 409, package_invalid: 422, rate_limited: 429, checks_busy: 503, insufficient_storage: 507,
      totp_required: 401, account_suspended: 403, invalid_credentials: 401, invalid_totp_code: 401,
    });
  });

  it('is found in *.errors.ts files only, each declaring at least one catalogue', async () => {
    const files = errorCatalogueFiles();
    expect(files.map((file) => relative(SRC, file))).toEqual(expect.arrayContaining(['features/apps/apps.errors.ts', 'jobs/jobs.errors.ts', 'shared/common.errors.ts']));
    for (const file of files) {
      const module = (await import(file)) as Record<string, unknown>;
      expect(Object.values(module).filter(isCatalogue).length, relative(SRC, file)).toBeGreaterThan(0);
    }
    // A catalogue declared anywhere else would be missed by the docs and the duplicate check.
    const elsewhere = sourceFiles(SRC).filter((file) => !file.endsWith('.errors.ts') && !file.endsWith(join('shared', 'errors.ts')) && /\bdefineErrors\(/.test(readFileSync(file, 'utf8')));
    expect(elsewhere.map((file) => relative(SRC, file))).toEqual([]);
  });

  it('is the only way to make an AppError, so every code thrown is declared', () => {
    // A throw site names a code of its catalogue; the type checker refuses any other.
    // @ts-expect-error: an undeclared code does not compile
    expect(() => appsErrors.error('no_such_code')).toThrow(/declares no error code no_such_code/);
    const error = appsErrors.error('app_not_found', 'gone');
    expect(error).toBeInstanceOf(AppError);
    expect([error.code, error.status, error.message]).toEqual(['app_not_found', 404, 'gone']);
    expect(defineErrors('x', { x_y: { status: 409, title: 'X' } }).error('x_y').message).toBe('X');

    // ...and nothing builds one by hand, with a status written at the throw site.
    const byHand = sourceFiles(SRC)
      .filter((file) => !file.endsWith(join('shared', 'errors.ts')))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (/new (AppError|AccessDenied)\s*\(/.test(line) ? [`${relative(SRC, file)}:${i + 1}`] : [])),
      );
    expect(byHand).toEqual([]);
  });

  it('matches docs/errors.md exactly (npm run docs:errors rewrites it)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8')).toBe(renderErrorsDoc(catalogues));
  });
});
