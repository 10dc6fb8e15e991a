import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commonErrors, type AnyErrorCatalogue, type ErrorSpec } from './shared/index.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Every `*.errors.ts` (or, built, `.js`) below src/, found on disk so a new one cannot be left out. */
export function errorCatalogueFiles(root = HERE): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.errors\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .sort()
    .map((file) => join(root, file));
}

/**
 * Every error catalogue of the portal: the common codes first, then each feature's (and layer's),
 * by file path. The catalogue test checks that no code is declared twice and that docs/errors.md
 * lists exactly these (`npm run docs:errors` writes it).
 */
export async function loadErrorCatalogues(): Promise<AnyErrorCatalogue[]> {
  const found: AnyErrorCatalogue[] = [commonErrors];
  for (const file of errorCatalogueFiles()) {
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (isCatalogue(value) && !found.includes(value)) found.push(value);
    }
  }
  return found;
}

export function isCatalogue(value: unknown): value is AnyErrorCatalogue {
  return typeof value === 'object' && value !== null && 'owner' in value && 'specs' in value && Array.isArray(value.specs);
}

export function allErrorSpecs(catalogues: readonly AnyErrorCatalogue[]): ErrorSpec[] {
  return catalogues.flatMap((catalogue) => [...catalogue.specs]);
}

/** docs/errors.md: one table row per code, grouped by catalogue, in declaration order. */
export function renderErrorsDoc(catalogues: readonly AnyErrorCatalogue[]): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from the error catalogues (src/**/*.errors.ts) by `npm run docs:errors`; a test fails when it differs. -->',
    '',
    'Every error answer is RFC 9457 `application/problem+json` with a stable `code` that clients may',
    'branch on: `{type, title, status, detail, code, errors?, request_id}`. A code always comes with',
    'the same HTTP status and `title`; `detail` says what went wrong this time. Codes are never renamed.',
    'The OpenAPI document (`/v1/openapi.json`, `/docs/api`) lists the codes each route may answer.',
    '',
    '| code | status | title | declared by |',
    '|---|---|---|---|',
  ];
  for (const spec of allErrorSpecs(catalogues)) lines.push(`| \`${spec.code}\` | ${spec.status} | ${spec.title} | ${spec.owner} |`);
  lines.push('');
  return lines.join('\n');
}
