import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT, RUNNING_FROM_SOURCE, packageFile } from './package-root.js';

/**
 * A worker thread's module as Piscina options, by its path below src/ without the extension
 * ('package/check-worker'): the build's dist/<path>.js (each worker is an entry point of its own,
 * at the place its source has), or under tests and the dev server the TypeScript through tsx.
 */
export function workerModule(name: string): { filename: string; execArgv?: string[] } {
  if (!RUNNING_FROM_SOURCE) return { filename: pathToFileURL(packageFile('dist', `${name}.js`)).href };
  return {
    filename: pathToFileURL(packageFile('src', `${name}.ts`)).href,
    execArgv: ['--import', pathToFileURL(createRequire(`${PACKAGE_ROOT}/`).resolve('tsx')).href],
  };
}
