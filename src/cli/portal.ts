import { ApiProblem, createPortalClient, unwrap, type PortalClient } from '@mosis/api-client';
import { CliError, describeError } from './errors.js';
import { note } from './output.js';
import { readCredentials, resolvePortal } from './settings.js';
import { CLI_VERSION } from './version.js';

/**
 * The CLI's connection to a portal: its address, the typed API client (@mosis/api-client, the one
 * the web UI uses) and the API key it signs with: MOSIS_TOKEN when set (CI), else the key
 * `mosis login` saved for that portal.
 */
export interface PortalSession {
  url: string;
  api: PortalClient;
  token: string;
  /** Where the token came from, for messages. */
  source: 'MOSIS_TOKEN' | 'login';
}

/** Exit codes of the verbs that talk to a portal (src/cli/README.md lists them all). */
export const EXIT = {
  /** The portal could not be reached, or the connection broke: trying again may work. */
  unreachable: 3,
  /** Not signed in, the key was refused (expired, revoked) or lacks a scope; a device login denied or expired. */
  credentials: 4,
  /** The portal refused the request (a conflict, a limit, a server error). */
  refused: 5,
} as const;

export const USER_AGENT = `mosis-cli/${CLI_VERSION}`;

export function portalClient(url: string, token?: string): PortalClient {
  return createPortalClient({ baseUrl: url, headers: { 'user-agent': USER_AGENT, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });
}

export async function connect(portalFlag: string | undefined): Promise<PortalSession> {
  const url = await resolvePortal(portalFlag);
  const fromEnv = process.env.MOSIS_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (url.startsWith('http:') && !isLoopback(url)) note(`warning: ${url} is not https: MOSIS_TOKEN crosses the network unencrypted`);
    return { url, api: portalClient(url, fromEnv), token: fromEnv, source: 'MOSIS_TOKEN' };
  }
  const credentials = await readCredentials(url);
  if (credentials === null) throw new CliError(`not signed in to ${url}: run \`mosis login${portalFlag === undefined ? '' : ` --portal ${url}`}\` (or set MOSIS_TOKEN to an API key)`, EXIT.credentials);
  return { url, api: portalClient(url, credentials.token), token: credentials.token, source: 'login' };
}

/** The data of a call, or a CliError that says in one line what went wrong and what to do. */
export async function call<Data>(session: Pick<PortalSession, 'url' | 'source'>, pending: Promise<{ data?: Data; error?: unknown; response: Response }>): Promise<Data> {
  try {
    return await unwrap(pending);
  } catch (error) {
    throw cliErrorOf(session, error);
  }
}

export function cliErrorOf(session: Pick<PortalSession, 'url' | 'source'>, error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (!(error instanceof ApiProblem)) return new CliError(`cannot reach ${session.url}: ${causeOf(error)}`, EXIT.unreachable);
  if (error.status === 0) return new CliError(`cannot reach ${session.url}: ${causeOf(error.cause)}`, EXIT.unreachable);
  if (error.status === 401) {
    const again = session.source === 'MOSIS_TOKEN' ? 'check MOSIS_TOKEN' : 'run `mosis login` again';
    return new CliError(`${session.url} did not accept the API key (expired or revoked?): ${again}`, EXIT.credentials);
  }
  if (error.code === 'insufficient_scope' || error.code === 'api_key_app_restricted') return new CliError(`${error.detail} (${error.code})`, EXIT.credentials);
  return new CliError(`the portal refused: ${error.detail} (${error.code}${error.status >= 500 && error.requestId !== null ? `, request ${error.requestId}` : ''})`, EXIT.refused);
}

/** Whether the portal is this machine: plain http is fine there. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9` rather than fetch's bare "fetch failed". */
export function causeOf(error: unknown): string {
  let current: unknown = error;
  // fetch wraps the socket's error: the innermost cause says what happened.
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  return describeError(current);
}
