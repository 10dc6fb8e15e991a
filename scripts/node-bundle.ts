import path from 'node:path';
import type { BuildOptions } from 'esbuild';

/**
 * How the server (build-server.ts) and the CLI (build-cli.ts) are bundled alike: ES modules for
 * Node 20.19, split into entries (each at its source's path below src/, where worker-module.ts
 * looks for it) and shared chunks.
 */
export const ROOT = path.resolve(import.meta.dirname, '..');

export function nodeBundle(options: { entries: readonly string[]; outdir: string; external: readonly string[] }): BuildOptions {
  return {
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(options.entries.map((name) => [name, `src/${name}.ts`])),
    outdir: options.outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    external: [...options.external],
    // The dependencies written as CommonJS call require(): in an ES module it has to be made.
    banner: { js: "import { createRequire as __mosisCreateRequire } from 'node:module'; const require = __mosisCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  };
}
