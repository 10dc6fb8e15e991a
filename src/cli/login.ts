import { spawn } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiProblem } from '@mosis/api-client';
import type { Command } from 'commander';
import { CliError } from './errors.js';
import { emit, jsonOutput, note, say } from './output.js';
import { call, causeOf, cliErrorOf, EXIT, isLoopback, portalClient } from './portal.js';
import { credentialsFile, readAnyCredentials, readConfig, removeCredentials, resolvePortal, writeConfig, writeCredentials } from './settings.js';

/**
 * `mosis login` and `mosis logout`: the OAuth 2.0 device flow (RFC 8628) against the portal. The
 * CLI never sees a password: the developer approves a short code in the browser where they are
 * already signed in, and the CLI receives an API key of theirs with the scopes it needs, which it
 * keeps in ~/.mosis/credentials (0600) until `mosis logout` revokes it.
 */

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
const SCOPES = ['apps:read', 'apps:write', 'versions:upload', 'versions:publish', 'keys:manage'];
/** Waits after a failed poll (the network, the portal restarting) before the next, doubling up to the last. */
const RETRY_DELAYS_S = [2, 4, 8, 15, 30];

interface LoginOptions {
  portal?: string;
  browser: boolean;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('sign in to a portal: approve a code in your browser, and the CLI gets an API key of yours')
    .option('--portal <url>', 'the portal (default: MOSIS_PORTAL, `mosis config get portal`, or http://localhost:8080); remembered')
    .option('--no-browser', 'only print the address; do not try to open a browser')
    .action(async (options: LoginOptions) => {
      await loginCommand(options);
    });
  program
    .command('logout')
    .description('revoke the API key `mosis login` saved and forget it')
    .action(async () => {
      await logoutCommand();
    });
}

export async function loginCommand(options: LoginOptions): Promise<void> {
  const url = await resolvePortal(options.portal);
  if (url.startsWith('http:') && !isLoopback(url)) note(`warning: ${url} is not https: the key will cross the network unencrypted`);
  const session = { url, source: 'login' as const };
  const api = portalClient(url);
  const code = await call(session, api.POST('/v1/auth/device/code', { body: { client_id: 'mosis-cli', client_name: `mosis CLI on ${os.hostname()}`.slice(0, 100), scope: SCOPES.join(' ') } }));

  // The code and the address go to stderr under --json: a person has to see them, a script reads stdout.
  const show = (line: string) => (process.stdout.isTTY && !jsonOutput() ? say(line) : note(line));
  show(`To sign in, open ${code.verification_uri} and enter the code ${code.user_code}`);
  show(`  (or open ${code.verification_uri_complete})`);
  // Only an address of the portal itself is handed to the system's opener: never a file, a share or another site.
  if (options.browser && process.stdout.isTTY && process.env.CI === undefined && sameOrigin(code.verification_uri_complete, url)) openBrowser(code.verification_uri_complete);
  note(`Waiting for the approval (the code expires in ${Math.round(code.expires_in / 60)} minutes; Ctrl-C to stop)…`);

  const deadline = Date.now() + code.expires_in * 1000;
  let interval = code.interval;
  let failures = 0;
  const poll = () => api.POST('/v1/auth/device/token', { body: { grant_type: GRANT_TYPE, device_code: code.device_code } });
  for (;;) {
    // After a failure, back off; never sooner than the interval, which a too-early poll would lengthen for good (slow_down).
    await sleep(Math.max(interval, failures === 0 ? 0 : (RETRY_DELAYS_S[Math.min(failures, RETRY_DELAYS_S.length) - 1] ?? interval)) * 1000);
    if (Date.now() > deadline) throw new CliError('the code expired before it was approved: run `mosis login` again', EXIT.credentials);
    let answer: Awaited<ReturnType<typeof poll>>;
    try {
      answer = await poll();
    } catch (error) {
      failures += 1;
      note(`cannot reach ${url} (${causeOf(error)}); trying again`);
      continue;
    }
    const { data, error, response } = answer;
    if (data !== undefined) {
      await saveLogin(url, data);
      return;
    }
    const rfcError = (error as { error?: unknown } | undefined)?.error;
    const grantError = typeof rfcError === 'string' ? rfcError : null;
    if (grantError === 'authorization_pending') {
      failures = 0;
      continue;
    }
    if (grantError === 'slow_down') {
      // RFC 8628 §3.5: every slow_down adds five seconds to the interval, for good.
      interval += 5;
      continue;
    }
    if (grantError === 'access_denied') throw new CliError('the sign-in was denied on the portal', EXIT.credentials);
    if (grantError === 'expired_token') throw new CliError('the code expired before it was approved: run `mosis login` again', EXIT.credentials);
    if (response.status >= 500 || response.status === 429) {
      failures += 1;
      note(`${url} answered ${response.status}; trying again`);
      continue;
    }
    throw grantError === null ? cliErrorOf(session, ApiProblem.fromResponse(response, error)) : new CliError(`the portal refused the sign-in: ${grantError}`, EXIT.credentials);
  }
}

async function saveLogin(url: string, grant: { access_token: string; key_id: string; scope: string; expires_in: number }): Promise<void> {
  const credentials = {
    portal: url,
    token: grant.access_token,
    key_id: grant.key_id,
    scopes: grant.scope.split(' '),
    expires_at: new Date(Date.now() + grant.expires_in * 1000).toISOString(),
    user: null,
    signed_in_at: new Date().toISOString(),
  };
  // Saved before anything else can fail: the portal hands the key over once.
  await writeCredentials(credentials);
  const api = portalClient(url, grant.access_token);
  const me = await call({ url, source: 'login' }, api.GET('/v1/auth/me'));
  await writeCredentials({ ...credentials, user: { email: me.email, name: me.name } });
  // The portal signed in to is the one the next verbs talk to.
  const config = await readConfig();
  if (config.portal !== url) await writeConfig({ ...config, portal: url });
  say(`Signed in to ${url} as ${me.name} <${me.email}>.`);
  say(`The CLI's API key is in ${credentialsFile()}; it expires in ${Math.round(grant.expires_in / 86_400)} days. \`mosis logout\` revokes it.`);
  emit({ portal: url, user: { id: me.id, email: me.email, name: me.name }, key_id: grant.key_id, scopes: grant.scope.split(' '), credentials: credentialsFile() });
}

export async function logoutCommand(): Promise<void> {
  const credentials = await readAnyCredentials();
  if (credentials === null) {
    say('Not signed in: nothing to do.');
    emit({ signed_out: false });
    return;
  }
  // Forgotten here whatever the portal says: the person asked for this machine to stop acting as them.
  await removeCredentials();
  const api = portalClient(credentials.portal);
  try {
    await call({ url: credentials.portal, source: 'login' }, api.POST('/v1/auth/revoke', { body: { token: credentials.token, token_type_hint: 'api_key' } }));
  } catch (error) {
    const reason = error instanceof CliError ? error.message : causeOf(error);
    throw new CliError(`removed the credentials from this machine, but could not revoke the key on the portal (${reason}); revoke it on ${credentials.portal}/settings/api-keys`, EXIT.unreachable);
  }
  say(`Signed out of ${credentials.portal}: the API key is revoked and removed from this machine.`);
  emit({ signed_out: true, portal: credentials.portal, key_id: credentials.key_id });
}

function sameOrigin(address: string, portal: string): boolean {
  try {
    const target = new URL(address);
    return (target.protocol === 'https:' || target.protocol === 'http:') && target.origin === new URL(portal).origin;
  } catch {
    return false;
  }
}

/** Best effort: the address is printed either way. */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener on this machine: the person opens the printed address.
  }
}
