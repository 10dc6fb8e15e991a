import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** s3rver accepts any signature made with these. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  /** The portal's settings for this server, packages under `s3://<bucket>/<prefix>`. */
  env(prefix: string): Record<string, string>;
  /** A client of the server, for looking at what the portal stored. Destroyed by stop(). */
  client(): S3Client;
  /** Kills the server (SIGKILL), keeping its files: start() brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Kills it and deletes its files. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver in a process of its own (test/support/s3-server.ts) on a fresh directory with one
 * bucket, the S3-compatible server the portal's S3 store is tested against.
 */
export async function startS3Server(options: { bucket?: string } = {}): Promise<S3Server> {
  const bucket = options.bucket ?? 'mosis-packages';
  const directory = await mkdtemp(path.join(tmpdir(), 'mosis-s3-'));
  let child: ChildProcess | undefined;
  let port = 0;
  const clients: S3Client[] = [];

  const start = async (): Promise<void> => {
    const args = ['--openssl-legacy-provider', '--import', 'tsx', path.join(ROOT, 'test/support/s3-server.ts'), directory, bucket, String(port)];
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const started = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    child = started;
    const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`the S3 server exited with ${code}`))));
    const ready = (async () => {
      for await (const line of createInterface({ input: started.stdout })) return (JSON.parse(line) as { port: number }).port;
      throw new Error('the S3 server did not start');
    })();
    port = await Promise.race([ready, exited]);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await gone;
  };

  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    env: (prefix) => ({
      STORAGE_URL: `s3://${bucket}/${prefix}`,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    }),
    client: () => {
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
      clients.push(client);
      return client;
    },
    kill,
    start,
    stop: async () => {
      for (const client of clients) client.destroy();
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
