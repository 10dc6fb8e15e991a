import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * A worker thread's module beside its caller's (`import.meta.url`), as Piscina options: the
 * compiled JavaScript, or under tests and the dev server the TypeScript through tsx.
 */
export function workerModule(callerUrl: string, name: string): { filename: string; execArgv?: string[] } {
  const typescript = callerUrl.endsWith('.ts');
  return {
    filename: new URL(`./${name}.${typescript ? 'ts' : 'js'}`, callerUrl).href,
    ...(typescript ? { execArgv: ['--import', pathToFileURL(createRequire(callerUrl).resolve('tsx')).href] } : {}),
  };
}
