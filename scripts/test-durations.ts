/**
 * Writes test/durations.json, each test file's seconds in the last whole-suite run, from Vitest's
 * results cache (node_modules/.vite/vitest/<hash>/results.json). The sequencer (vitest.config.ts)
 * starts the longest files first with it on a clean clone, which has no cache: in size order
 * instead, a 13 s file started last and CI's run took 219 s instead of 175 s. Run it after a full
 * `npm test` when files were added or got much slower or faster:
 *
 *   npx tsx scripts/test-durations.ts
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const cacheRoot = path.join(ROOT, 'node_modules/.vite/vitest');
const found: Record<string, number> = {};
for (const dir of await readdir(cacheRoot)) {
  const file = path.join(cacheRoot, dir, 'results.json');
  const cache = JSON.parse(await readFile(file, 'utf8').catch(() => '{"results":[]}')) as { results: [string, { duration: number }][] };
  // Keys are "<project>:<path from the root>"; this project has one, unnamed.
  for (const [key, { duration }] of cache.results) found[key.slice(key.indexOf(':') + 1)] = Math.round(duration / 100) / 10;
}
const sorted = Object.fromEntries(Object.entries(found).sort(([a], [b]) => a.localeCompare(b)));
if (Object.keys(sorted).length === 0) throw new Error(`no results in ${cacheRoot}: run the suite first`);
await writeFile(path.join(ROOT, 'test/durations.json'), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
