/**
 * Builds the docs site into dist/docs-site (part of `npm run build`): docs/**.md rendered to HTML
 * with the sidebar of docs/README.md, and Pagefind's offline search index. The portal serves it
 * at /docs (src/http/docs-site.ts). Skipped when nothing it is built from changed.
 *
 *   tsx scripts/build-docs.ts [--out DIR] [--force] [--strict]
 *
 * Broken links and pages missing from the navigation are printed as warnings; `--strict` makes
 * them fail the build (test/http/docs-site.test.ts fails on them either way).
 */
import { parseArgs } from 'node:util';
import { buildDocsSite } from './docs-site/build.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, force: { type: 'boolean' }, strict: { type: 'boolean' } } });
const report = await buildDocsSite({ ...(values.out ? { out: values.out } : {}), force: values.force === true });
for (const link of report.broken) console.warn(`docs-site: broken link on ${link.page}: ${link.link} (${link.problem})`);
for (const source of report.unlisted) console.warn(`docs-site: ${source} is not in the navigation: list it in docs/README.md`);
const what = report.built ? `built ${report.pages} pages into` : 'up to date:';
console.log(`docs-site: ${what} ${report.out} (${Math.round(report.ms)} ms)`);
if (values.strict && (report.broken.length > 0 || report.unlisted.length > 0)) process.exitCode = 1;
