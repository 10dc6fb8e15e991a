import { readFileSync } from 'node:fs';
import { packageFile } from '../shared/package-root.js';

/** The CLI ships in the mosis-portal npm package, so its version is that package's. */
function readVersion(): string {
  const text = readFileSync(packageFile('package.json'), 'utf8');
  const json: unknown = JSON.parse(text);
  if (typeof json === 'object' && json !== null && 'version' in json && typeof json.version === 'string') return json.version;
  throw new Error('package.json has no version');
}

export const CLI_VERSION = readVersion();

/** The `Created-By` value of the packages this CLI builds. */
export const CREATED_BY = `mosis-cli ${CLI_VERSION}`;
