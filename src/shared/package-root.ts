import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the portal is installed: the folder of its package.json, found by walking up from this
 * module. The answer is the same from the TypeScript sources (src/shared/), from a build that
 * mirrors them and from the bundle's shared chunks (dist/chunks/): the files shipped beside the
 * code (package.json, the web UI, the docs site, worker modules, the password list) are named from
 * here, never from wherever the bundler happened to put the module that asks.
 */
function findPackageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot();

/** Under tests and the dev server the portal runs its TypeScript sources (through tsx); installed, the build in dist/. */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** A file of the package, by its path from the package's root. */
export function packageFile(...segments: string[]): string {
  return path.join(PACKAGE_ROOT, ...segments);
}
