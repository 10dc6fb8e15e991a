import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiProblem, type components } from '@mosis/api-client';
import { Option, type Command } from 'commander';
import type { Manifest } from '../package/index.js';
import { buildAndCheck, printBuild } from './build.js';
import { checkPackageFile } from './check.js';
import { CliError, describeError } from './errors.js';
import { followEvents } from './events.js';
import { formatBytes, formatFinding, hasErrors, summarizeFindings, type ShownFinding } from './format.js';
import { emit, note, say } from './output.js';
import { call, cliErrorOf, connect, EXIT, type PortalSession } from './portal.js';
import { uploadPackage } from './upload.js';

/**
 * `mosis publish`: from an app folder (or a built .mosis) to a published version. It builds a
 * folder, makes the app on the portal if it is new, uploads the package, waits for the portal's
 * checks and prints their findings as `mosis validate` does; the upload is the submission for
 * review. With --wait it follows the review over the live event stream and publishes the approved
 * version on --channel at --rollout. Every step looks at what the portal already has first, so
 * running the command again after a failure (or after the review, without --wait) carries on
 * where it stopped instead of starting over.
 */

type Version = components['schemas']['Version'];
type App = components['schemas']['App'];

interface PublishOptions {
  channel: 'stable' | 'beta';
  rollout: number;
  notes?: string;
  dryRun?: boolean;
  wait?: boolean;
  portal?: string;
}

const RELEASE_NOTES_MAX = 4000;
/** How long the checks may take before the CLI stops waiting (the portal goes on; `mosis status` shows the verdict). */
const CHECKS_WAIT_MS = 10 * 60_000;
/** A missed event costs at most this long: the version is read again anyway. */
const POLL_EVERY_MS = 15_000;

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('upload an app to the portal, wait for its checks, submit it for review; with --wait, publish it once approved')
    .argument('[path]', 'app folder (built first) or .mosis file', '.')
    .addOption(new Option('--channel <channel>', 'where the approved version goes').choices(['stable', 'beta']).default('stable'))
    .option('--rollout <percent>', 'share of devices offered the version, 1-100', parseRollout, 100)
    .option('--notes <file>', 'release notes, a text file of at most 4000 characters')
    .option('--dry-run', 'run the portal\'s checks on the package; store and change nothing')
    .option('--wait', 'follow the review and publish the version when it is approved')
    .option('--portal <url>', 'the portal (default: the one you signed in to)')
    .action(async (target: string, options: PublishOptions) => {
      await publishCommand(target, options);
    });
}

function parseRollout(value: string): number {
  const n = Number(value);
  if (!/^\d{1,3}$/.test(value) || n < 1 || n > 100) throw new CliError(`--rollout must be a whole number from 1 to 100, got ${JSON.stringify(value)}`);
  return n;
}

export async function publishCommand(target: string, options: PublishOptions): Promise<void> {
  const notes = options.notes === undefined ? undefined : await readNotes(options.notes);
  const { file, manifest } = await packageToPublish(target);
  const session = await connect(options.portal);
  const [sha256, size] = await Promise.all([fileSha256(file), stat(file).then((info) => info.size)]);

  let app = await findApp(session, manifest.id);
  if (options.dryRun === true) return dryRun(session, app, file, manifest);
  if (app === null) {
    app = await call(session, session.api.POST('/v1/apps', { body: { package_id: manifest.id, name: manifest.name, ...(manifest.description === undefined ? {} : { summary: manifest.description.slice(0, 200) }) } }));
    say(`Created the app ${app.name} (${app.package_id}) on ${session.url}.`);
  }

  // A version whose checks failed holds nothing: the same package may go up again (say once its signing key is registered).
  const sameUpload = (v: Version) => v.sha256 === sha256 && v.status !== 'failed';
  let version = await findVersion(session, app.id, sameUpload);
  if (version === null) {
    const clash = await findVersion(session, app.id, (v) => v.status !== 'failed' && (v.version === manifest.version || v.version_code === manifest.version_code));
    if (clash !== null) throw new CliError(`${app.package_id} already has version ${clash.version} (code ${clash.version_code}) with other contents; raise version_code (and version) in manifest.json`);
    say(`Uploading ${manifest.id} ${manifest.version} (code ${manifest.version_code}, ${formatBytes(size)}) to ${session.url}…`);
    const outcome = await uploadPackage(session, app.id, file, size);
    // `exists`: an earlier try got through although its answer was lost; it is the version to follow.
    version = outcome.kind === 'uploaded' ? outcome.version : await findVersion(session, app.id, sameUpload);
    if (version === null) throw new CliError(`the portal says ${manifest.version} exists but lists no version with this package's SHA-256`, EXIT.refused);
  } else {
    say(`${app.package_id} ${version.version} is already on the portal (${version.status}); carrying on from there.`);
  }
  if (notes !== undefined && notes !== version.release_notes) {
    version = await call(session, session.api.PATCH('/v1/apps/{app_id}/versions/{version_id}', { params: { path: { app_id: app.id, version_id: version.id } }, body: { release_notes: notes } }));
  }

  if (version.status === 'processing') {
    note('Waiting for the portal\'s checks…');
    version = await waitForVersion(session, app.id, version.id, (v) => v.status !== 'processing', CHECKS_WAIT_MS);
  }
  if (version.status === 'failed') {
    printFindings(version.checks, 'FAILED');
    emit(result(session, app, version));
    const unknownSigner = version.checks.some((finding) => finding.code === 'signature_key_not_allowed');
    throw new CliError(unknownSigner ? 'the portal does not know the key this package is signed with: run `mosis keys register`, then publish again' : 'the portal\'s checks failed; fix the errors above and publish again', 1);
  }
  if (version.checks.length > 0 || version.status === 'pending_review') printFindings(version.checks, 'OK');

  if (version.status === 'pending_review' && options.wait !== true) {
    say(`Submitted for review: ${app.package_id} ${version.version} waits for a reviewer.`);
    say(`Follow it with \`mosis status ${app.package_id}\`; once approved, run this command again (or add --wait) to publish it.`);
    emit(result(session, app, version));
    return;
  }
  if (version.status === 'pending_review') {
    note('Submitted for review; waiting for a reviewer (Ctrl-C stops waiting, the review goes on)…');
    version = await waitForVersion(session, app.id, version.id, (v) => v.status !== 'pending_review', Infinity);
  }
  if (version.status === 'rejected') {
    say(`Rejected by ${version.review?.reviewer_name ?? 'a reviewer'}: ${version.review?.notes ?? 'no notes'}`);
    emit(result(session, app, version));
    throw new CliError(`the review rejected ${app.package_id} ${version.version}`, 1);
  }
  if (version.status === 'approved') {
    version = await call(
      session,
      session.api.POST('/v1/apps/{app_id}/versions/{version_id}/publish', { params: { path: { app_id: app.id, version_id: version.id } }, body: { channel: options.channel, rollout_percent: options.rollout } }),
    );
  }
  if (version.status === 'published') {
    say(`Published ${app.package_id} ${version.version} on ${version.channel ?? options.channel} to ${version.rollout_percent ?? 100}% of devices.`);
  } else {
    say(`${app.package_id} ${version.version} is ${version.status}.`);
  }
  emit(result(session, app, version));
}

/** A folder is built (and checked) first; a file is taken as it is, after reading its manifest. */
async function packageToPublish(target: string): Promise<{ file: string; manifest: Manifest }> {
  const info = await stat(target).catch((error: unknown) => {
    throw new CliError(`cannot read ${target}: ${describeError(error)}`);
  });
  if (info.isDirectory()) {
    const built = await buildAndCheck(target, {});
    printBuild(built);
    if (hasErrors(built.findings)) throw new CliError('the package fails its checks; fix the errors above before publishing', 1);
    return built;
  }
  const checked = await checkPackageFile(target, { allowedKeys: [] });
  if (checked.manifest === null) {
    for (const finding of checked.findings) say(formatFinding(finding));
    throw new CliError(`${target} has no valid manifest.json; is it a .mosis package?`, 1);
  }
  return { file: target, manifest: checked.manifest };
}

/** The portal's checks without storing anything; without the app on the portal yet, the same checks here. */
async function dryRun(session: PortalSession, app: App | null, file: string, manifest: Manifest): Promise<void> {
  if (app === null) {
    say(`${manifest.id} is not on ${session.url} yet: publishing would create it. The package passed the checks above.`);
    emit({ dry_run: true, portal: session.url, app: null, package_id: manifest.id });
    return;
  }
  // Streamed like the upload: a package may be hundreds of megabytes.
  const response = await fetch(`${session.url}/v1/apps/${encodeURIComponent(app.id)}/versions?dry_run=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/octet-stream', 'content-length': String((await stat(file)).size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  }).catch((error: unknown) => {
    throw new CliError(`cannot reach ${session.url}: ${describeError(error)}`, EXIT.unreachable);
  });
  // 422 package_invalid lists the blocking findings as its field errors, each a whole finding.
  const answer = (await response.json().catch(() => null)) as { checks?: ShownFinding[]; errors?: Array<Partial<ShownFinding> & { path: string; message: string }>; detail?: string; code?: string } | null;
  if (response.status === 200 && answer?.checks !== undefined) {
    printFindings(answer.checks, 'OK');
    emit({ dry_run: true, portal: session.url, app: app.package_id, ...answer });
    return;
  }
  if (response.status === 422 && answer?.code === 'package_invalid') {
    for (const error of answer.errors ?? []) say(formatFinding({ tier: error.tier ?? 1, severity: error.severity ?? 'error', code: error.code ?? 'package_invalid', message: error.message, ...(error.file === undefined ? {} : { file: error.file }), ...(error.line === undefined ? {} : { line: error.line }) }));
    say(`FAILED: ${answer.detail ?? ''}`);
    emit({ dry_run: true, portal: session.url, app: app.package_id, ...answer });
    process.exitCode = 1;
    return;
  }
  throw cliErrorOf(session, ApiProblem.fromResponse(response, answer));
}

/** Most pages read for one list: a portal that keeps answering a next page cannot keep the CLI for ever. */
const MAX_PAGES = 1000;

/** Every item of a paged list (`{items, next_cursor}`), page by page, until `stop` says enough. */
export async function eachPage<Item>(read: (cursor: string | undefined) => Promise<{ items: Item[]; next_cursor?: string | null }>, stop: (item: Item) => boolean = () => false): Promise<Item | null> {
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await read(cursor);
    const found = page.items.find(stop);
    if (found !== undefined) return found;
    if (page.next_cursor === null || page.next_cursor === undefined || page.next_cursor === cursor) return null;
    cursor = page.next_cursor;
  }
  return null;
}

const query = (cursor: string | undefined) => ({ limit: 100, ...(cursor === undefined ? {} : { cursor }) });

export function findApp(session: PortalSession, packageId: string): Promise<App | null> {
  return eachPage((cursor) => call(session, session.api.GET('/v1/apps', { params: { query: query(cursor) } })), (app) => app.package_id === packageId);
}

export function findVersion(session: PortalSession, appId: string, match: (version: Version) => boolean): Promise<Version | null> {
  return eachPage((cursor) => call(session, session.api.GET('/v1/apps/{app_id}/versions', { params: { path: { app_id: appId }, query: query(cursor) } })), match);
}

/**
 * Reads the version until `done`, woken by the live events of its app (and every POLL_EVERY_MS in
 * case one was missed while the stream reconnected).
 */
async function waitForVersion(session: PortalSession, appId: string, versionId: string, done: (version: Version) => boolean, timeoutMs: number): Promise<Version> {
  const stop = new AbortController();
  let wake: () => void = () => undefined;
  const stream = followEvents(session, (event) => event.app_id === appId && wake(), stop.signal);
  const deadline = Date.now() + timeoutMs;
  try {
    // Read after the stream is open, so an event between the read and the wait cannot be missed.
    await Promise.race([stream.connected, sleep(5_000, undefined, { ref: false })]);
    for (;;) {
      const version = await call(session, session.api.GET('/v1/apps/{app_id}/versions/{version_id}', { params: { path: { app_id: appId, version_id: versionId } } }));
      if (done(version)) return version;
      if (Date.now() > deadline) throw new CliError(`gave up waiting: the version is still ${version.status}; \`mosis status\` shows how it goes on, and running this command again waits again`, EXIT.unreachable);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, POLL_EVERY_MS).unref();
      });
    }
  } finally {
    stop.abort();
  }
}

function printFindings(findings: readonly ShownFinding[], verdict: 'OK' | 'FAILED'): void {
  for (const finding of findings) say(formatFinding(finding));
  say(`Portal checks ${verdict}: ${summarizeFindings(findings)}`);
}

function result(session: PortalSession, app: App, version: Version) {
  return { portal: session.url, app: { id: app.id, package_id: app.package_id, name: app.name }, version };
}

async function readNotes(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new CliError(`cannot read the release notes ${file}: ${describeError(error)}`);
  });
  const notes = text.trim();
  if (notes.length > RELEASE_NOTES_MAX) throw new CliError(`the release notes in ${file} are ${notes.length} characters; at most ${RELEASE_NOTES_MAX}`);
  return notes;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
