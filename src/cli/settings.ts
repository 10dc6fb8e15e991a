import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, describeError } from './errors.js';
import { isMissing, mosisHome } from './home.js';

/**
 * What the CLI remembers between runs, in $MOSIS_HOME (~/.mosis): `config.json` (the portal to
 * talk to) and `credentials` (the API key `mosis login` received, mode 0600 in a 0700 folder:
 * it acts as you on the portal). `MOSIS_TOKEN` and `MOSIS_PORTAL` override both, for CI.
 */

/** Where `mosis` looks when nothing names a portal: one started with the README's quick start. */
export const DEFAULT_PORTAL = 'http://localhost:8080';

export interface Config {
  portal?: string;
}

export interface Credentials {
  portal: string;
  /** The API key (mk_live_…). */
  token: string;
  key_id: string;
  scopes: string[];
  expires_at: string;
  user: { email: string; name: string } | null;
  signed_in_at: string;
}

const configFile = () => path.join(mosisHome(), 'config.json');
export const credentialsFile = (): string => path.join(mosisHome(), 'credentials');

export async function readConfig(): Promise<Config> {
  const json = await readJson(configFile());
  if (json === null) return {};
  const portal = (json as { portal?: unknown }).portal;
  return typeof portal === 'string' ? { portal } : {};
}

export async function writeConfig(config: Config): Promise<void> {
  await writePrivate(configFile(), `${JSON.stringify(config, null, 2)}\n`, 0o644);
}

/** The saved credentials, or null when there are none (or they are for another portal). */
export async function readCredentials(portal: string): Promise<Credentials | null> {
  const credentials = await readAnyCredentials();
  return credentials?.portal === portal ? credentials : null;
}

export async function readAnyCredentials(): Promise<Credentials | null> {
  const json = (await readJson(credentialsFile())) as Partial<Credentials> | null;
  return json !== null && typeof json.token === 'string' && typeof json.portal === 'string' ? (json as Credentials) : null;
}

export async function writeCredentials(credentials: Credentials): Promise<void> {
  await writePrivate(credentialsFile(), `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
}

export async function removeCredentials(): Promise<void> {
  await rm(credentialsFile(), { force: true });
}

/** `https://portal.example/` → `https://portal.example`; anything but an http(s) URL is refused. */
export function normalizePortal(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new CliError(`not a portal address: ${JSON.stringify(raw)} (expected e.g. https://portal.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`not a portal address: ${raw} (only http and https)`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') throw new CliError(`not a portal address: ${raw} (no user, query or fragment)`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The portal a verb talks to: --portal, else MOSIS_PORTAL, else `mosis config set portal`, else the default. */
export async function resolvePortal(flag: string | undefined): Promise<string> {
  if (flag !== undefined) return normalizePortal(flag);
  const fromEnv = process.env.MOSIS_PORTAL;
  if (fromEnv !== undefined && fromEnv !== '') return normalizePortal(fromEnv);
  const { portal } = await readConfig();
  return portal === undefined ? DEFAULT_PORTAL : normalizePortal(portal);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return null;
    throw new CliError(`cannot read ${file}: ${describeError(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${file} is not valid JSON; fix or delete it`);
  }
}

/**
 * Replaces a file of $MOSIS_HOME with one of this mode: written to a new file first (created with
 * the mode, so the key is never readable by others, not even for a moment) and renamed over the old.
 */
async function writePrivate(file: string, text: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { mode, flag: 'wx' });
    await chmod(temporary, mode);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${file}: ${describeError(error)}`);
  }
}
