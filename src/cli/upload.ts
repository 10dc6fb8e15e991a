import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiProblem, type components } from '@mosis/api-client';
import { CliError } from './errors.js';
import { formatBytes } from './format.js';
import { jsonOutput, note } from './output.js';
import { causeOf, cliErrorOf, EXIT, USER_AGENT, type PortalSession } from './portal.js';

/**
 * Sends a package to POST /v1/apps/{app_id}/versions as a stream (never read whole into memory),
 * with a progress bar on a terminal. A connection that breaks mid-upload is tried again (the
 * portal keeps nothing of a cut-off upload), and when every try fails the message says how far it
 * got and that running the command again is safe.
 */

type Version = components['schemas']['Version'];

/** Pauses before the second and third try. */
const RETRY_DELAYS_MS = [1_000, 3_000];

export type UploadOutcome = { kind: 'uploaded'; version: Version } | { kind: 'exists' };

export async function uploadPackage(session: PortalSession, appId: string, file: string, size: number): Promise<UploadOutcome> {
  for (let attempt = 1; ; attempt++) {
    const progress = new Progress(size);
    try {
      return await sendOnce(session, appId, file, size, progress);
    } catch (error) {
      progress.end();
      const retryable = error instanceof UploadInterrupted;
      const delay = RETRY_DELAYS_MS[attempt - 1];
      if (!retryable || delay === undefined) {
        if (!retryable) throw error;
        throw new CliError(`${error.message}. The portal kept nothing of it; run the same command again to retry`, EXIT.unreachable);
      }
      note(`${error.message}; trying again in ${delay / 1000} s (attempt ${attempt + 1} of ${RETRY_DELAYS_MS.length + 1})`);
      await sleep(delay);
    }
  }
}

/** The connection broke, or the portal could not take the upload just now: worth another try. */
class UploadInterrupted extends Error {}

async function sendOnce(session: PortalSession, appId: string, file: string, size: number, progress: Progress): Promise<UploadOutcome> {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.add(chunk.length);
      done(null, chunk);
    },
  });
  const body = createReadStream(file).pipe(counter);
  let response: Response;
  try {
    response = await fetch(`${session.url}/v1/apps/${encodeURIComponent(appId)}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/octet-stream', 'content-length': String(size), 'user-agent': USER_AGENT },
      body: Readable.toWeb(body) as ReadableStream<Uint8Array>,
      duplex: 'half',
    });
  } catch (error) {
    body.destroy();
    throw new UploadInterrupted(`the upload was cut off after ${formatBytes(progress.sent)} of ${formatBytes(size)} (${causeOf(error)})`);
  }
  progress.end();
  const text = await response.text().catch(() => '');
  const json = parse(text);
  if (response.status === 202) return { kind: 'uploaded', version: json as Version };
  const problem = ApiProblem.fromResponse(response, json);
  if (response.status === 409 && problem.code === 'version_exists') return { kind: 'exists' };
  if (response.status >= 500 || (response.status === 429 && problem.code === 'uploads_in_progress')) {
    throw new UploadInterrupted(`the portal could not take the upload (${response.status} ${problem.code})`);
  }
  throw cliErrorOf(session, problem);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** `Uploading [#########           ] 45%  2.3 MiB of 5.1 MiB` on stderr, on a terminal only. */
class Progress {
  sent = 0;
  private drawn = -1;
  private readonly visible = process.stderr.isTTY && !jsonOutput();

  constructor(private readonly size: number) {}

  add(bytes: number): void {
    this.sent += bytes;
    const percent = this.size === 0 ? 100 : Math.floor((this.sent / this.size) * 100);
    if (!this.visible || percent === this.drawn) return;
    this.drawn = percent;
    const filled = Math.round(percent / 5);
    process.stderr.write(`\rUploading [${'#'.repeat(filled)}${' '.repeat(20 - filled)}] ${String(percent).padStart(3)}%  ${formatBytes(this.sent)} of ${formatBytes(this.size)}`);
  }

  end(): void {
    if (this.visible && this.drawn >= 0) process.stderr.write('\n');
    this.drawn = -1;
  }
}
