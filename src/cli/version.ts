import { readFileSync } from 'node:fs';

/**
 * The CLI ships in the mosis-portal npm package, so its version is that package's. The path works
 * from both src/cli/ (tsx) and dist/cli/ (compiled): each is two levels below the root.
 */
function readVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const json: unknown = JSON.parse(text);
  if (typeof json === 'object' && json !== null && 'version' in json && typeof json.version === 'string') return json.version;
  throw new Error('package.json has no version');
}

export const CLI_VERSION = readVersion();

/** The `Created-By` value of the packages this CLI builds. */
export const CREATED_BY = `mosis-cli ${CLI_VERSION}`;
