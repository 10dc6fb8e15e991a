/**
 * Writes docs/errors.md from the error catalogues (`npm run docs:errors`). The catalogue test
 * fails while the file differs, so run this after adding or changing a code.
 */
import { writeFileSync } from 'node:fs';
import { loadErrorCatalogues, renderErrorsDoc } from '../src/error-catalogue.js';

const target = new URL('../docs/errors.md', import.meta.url);
writeFileSync(target, renderErrorsDoc(await loadErrorCatalogues()));
console.log(`wrote ${target.pathname}`);
