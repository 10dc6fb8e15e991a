/**
 * Package storage on S3 (issue 18), side by side in one run:
 *
 * - Upload: the same N MiB signed package (default 500) streamed into a portal on the filesystem
 *   store and into a portal on an S3-compatible server (s3rver, a process of its own), alternating,
 *   `--rounds` times each (default 2). Throughput end to end (staging, every check, commit) and the
 *   server's RSS growth (VmHWM over the upload). Targets: S3 ≥ 70 % of the filesystem's
 *   throughput, RSS growth < 64 MiB.
 * - Download: the published package through the portal in proxy mode (`STORAGE_DOWNLOADS=proxy`,
 *   `GET /v1/store/packages/…`) against a direct GET of the same object from the S3 server (a
 *   presigned URL), alternating, one stream and four in parallel. Target: proxy ≥ 70 % of direct.
 *
 *   npx tsx bench/storage-s3.ts [--mib 500] [--rounds 2]
 *
 * Needs the compiled server (`npm run build`). Numbers land in bench/results/storage-s3.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { rawPublicKey } from '../src/package/keys.js';
import { api, buildBigPackage, freePort, memoryKiB, MiB, resetPeak, sizeMiB, startFlags, streamUpload, waitFor } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZE_MIB = sizeMiB(500);
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 2) || 2;
const BUCKET = 'mosis-bench';
const PASSWORD = 'benchmark password 1';
const children: ChildProcess[] = [];

interface Portal {
  base: string;
  pid: number;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
}

interface Developer {
  token: string;
  appId: string;
}

type Upload = Awaited<ReturnType<typeof measureUpload>>;

async function startS3(dir: string): Promise<number> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', path.join(ROOT, 'test', 'support', 's3-server.ts'), dir, BUCKET], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout })) return (JSON.parse(line) as { port: number }).port;
  throw new Error('the S3 server did not start');
}

async function startPortal(dataDir: string, extra: NodeJS.ProcessEnv): Promise<Portal> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    REQUIRE_2FA_ROLES: 'none',
    STORE_RATE_LIMIT_PER_MINUTE: '0',
    MAX_PACKAGE_BYTES: String(2048 * MiB),
    MAX_PACKAGE_INFLATED_BYTES: String(2048 * MiB),
    ...extra,
  };
  const child = spawn(process.execPath, [...(await startFlags(ROOT)), path.join(ROOT, 'dist', 'main.js'), 'serve'], { env, stdio: 'inherit' });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/readyz`);
  return { base, pid: child.pid ?? 0, env, child };
}

async function stop(portal: Portal): Promise<void> {
  portal.child.kill('SIGTERM');
  if (portal.child.exitCode === null && portal.child.signalCode === null) await new Promise((r) => portal.child.once('exit', r));
}

async function signIn(base: string, email: string): Promise<string> {
  return (await api<{ access_token: string }>(base, 'POST', '/v1/auth/login', { email, password: PASSWORD })).access_token;
}

/** A developer with a signing key and the app, ready for uploads; returns its token and app id. */
async function developer(portal: Portal, publicKey: Parameters<typeof rawPublicKey>[0]): Promise<Developer> {
  await api(portal.base, 'POST', '/v1/auth/register', { email: 'dev@example.com', password: PASSWORD, name: 'Dev' });
  const token = await signIn(portal.base, 'dev@example.com');
  await api(portal.base, 'POST', '/v1/signing-keys', { name: 'bench', public_key: rawPublicKey(publicKey).toString('base64') }, token);
  const app = await api<{ id: string }>(portal.base, 'POST', '/v1/apps', { package_id: 'com.example.big', name: 'Big' }, token);
  return { token, appId: app.id };
}

/** Streams the package in once; throughput and the server's RSS growth over the upload. */
async function measureUpload(portal: Portal, dev: Developer, file: string, size: number) {
  const baseline = await memoryKiB(portal.pid, 'VmRSS');
  await resetPeak(portal.pid);
  let sampled = baseline;
  const sampler = setInterval(() => void memoryKiB(portal.pid, 'VmRSS').then((v) => (sampled = Math.max(sampled, v)), () => undefined), 20);
  const started = process.hrtime.bigint();
  const answer = await streamUpload(portal.base, dev.appId, dev.token, file, size);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  if (answer.status !== 202) throw new Error(`upload answered ${answer.status}: ${answer.body}`);
  const peak = Math.max(await memoryKiB(portal.pid, 'VmHWM'), sampled);
  const version = JSON.parse(answer.body) as { id: string };
  return { versionId: version.id, mibPerSecond: size / MiB / seconds, seconds, rssGrowthMiB: (peak - baseline) / 1024 };
}

async function versionStatus(portal: Portal, dev: Developer, versionId: string): Promise<string> {
  return (await api<{ status: string }>(portal.base, 'GET', `/v1/apps/${dev.appId}/versions/${versionId}`, undefined, dev.token)).status;
}

/** Waits for the checks, deletes nothing: a rejected version would make the next upload of the same bytes a duplicate. */
async function settled(portal: Portal, dev: Developer, versionId: string): Promise<string> {
  for (;;) {
    const status = await versionStatus(portal, dev, versionId);
    if (status !== 'processing') return status;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `streams` parallel GETs of `url`, each read to the end; MiB/s over all of them. */
async function download(url: () => Promise<string>, size: number, streams: number): Promise<number> {
  const urls = await Promise.all(Array.from({ length: streams }, url));
  const started = process.hrtime.bigint();
  await Promise.all(
    urls.map(async (u) => {
      const res = await fetch(u);
      if (res.status !== 200) throw new Error(`GET ${u}: ${res.status}`);
      let bytes = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
      if (bytes !== size) throw new Error(`GET ${u}: ${bytes} bytes, not ${size}`);
    }),
  );
  return (size * streams) / MiB / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const work = await mkdtemp(path.join(ROOT, 'bench', 'results', 'storage-s3-'));
  try {
    console.log(`building a ${SIZE_MIB} MiB package of incompressible assets…`);
    const { file, size, publicKey } = await buildBigPackage(work, SIZE_MIB);
    const s3Port = await startS3(path.join(work, 's3'));
    const s3Endpoint = `http://127.0.0.1:${s3Port}`;
    const s3Env = {
      S3_ENDPOINT: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      STORAGE_DOWNLOADS: 'proxy',
    };

    // Each upload goes into a portal of its own (a fresh database, a fresh prefix), so every round
    // does the same work; fs and S3 alternate, so a change in the machine's load hits both alike.
    const uploads: Record<'fs' | 's3', Upload[]> = { fs: [], s3: [] };
    let s3Portal: Portal | undefined;
    let s3Dev: Developer | undefined;
    let s3Version = '';
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const kind of ['fs', 's3'] as const) {
        const portal = await startPortal(path.join(work, `${kind}-${round}`), kind === 's3' ? { ...s3Env, STORAGE_URL: `s3://${BUCKET}/round-${round}` } : {});
        const dev = await developer(portal, publicKey);
        execFileSync('sync');
        const result = await measureUpload(portal, dev, file, size);
        uploads[kind].push(result);
        console.log(`upload ${kind} round ${round + 1}: ${result.mibPerSecond.toFixed(1)} MiB/s, RSS +${result.rssGrowthMiB.toFixed(1)} MiB, then ${await settled(portal, dev, result.versionId)}`);
        if (kind === 's3' && round === ROUNDS - 1) [s3Portal, s3Dev, s3Version] = [portal, dev, result.versionId];
        else await stop(portal);
      }
    }
    if (!s3Portal || !s3Dev) throw new Error('no S3 portal to download from');

    // Publish the S3 portal's first version, then download it both ways.
    await new Promise<void>((resolve, reject) => {
      const admin = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js'), 'create-admin', '--email', 'admin@example.com', '--password', PASSWORD], { env: s3Portal.env, stdio: 'ignore' });
      admin.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`create-admin exited ${code}`))));
    });
    const adminToken = await signIn(s3Portal.base, 'admin@example.com');
    await api(s3Portal.base, 'POST', `/v1/review/${s3Version}/decision`, { decision: 'approve' }, adminToken);
    await api(s3Portal.base, 'POST', `/v1/apps/${s3Dev.appId}/versions/${s3Version}/publish`, { channel: 'stable', rollout_percent: 100 }, s3Dev.token);

    const s3 = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `round-${ROUNDS - 1}/` }));
    const key = listed.Contents?.find((o) => o.Size === size)?.Key;
    if (!key) throw new Error('the package is not in the bucket');
    const direct = () => getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 600 });
    const proxied = () => Promise.resolve(`${s3Portal.base}/v1/store/packages/com.example.big/1.mosis`);
    const downloads: Record<string, { direct: number[]; proxy: number[]; proxyRssGrowthMiB: number[] }> = {};
    for (const streams of [1, 4]) {
      const d = (downloads[`${streams}_streams`] = { direct: [] as number[], proxy: [] as number[], proxyRssGrowthMiB: [] as number[] });
      for (let round = 0; round < ROUNDS; round += 1) {
        d.direct.push(await download(direct, size, streams));
        const baseline = await memoryKiB(s3Portal.pid, 'VmRSS');
        await resetPeak(s3Portal.pid);
        d.proxy.push(await download(proxied, size, streams));
        d.proxyRssGrowthMiB.push(((await memoryKiB(s3Portal.pid, 'VmHWM')) - baseline) / 1024);
        console.log(`download ${streams} stream(s) round ${round + 1}: direct ${d.direct.at(-1)!.toFixed(1)} MiB/s, proxy ${d.proxy.at(-1)!.toFixed(1)} MiB/s`);
      }
    }
    s3.destroy();

    const best = (xs: number[]) => Math.max(...xs);
    const fsBest = best(uploads.fs.map((u) => u.mibPerSecond));
    const s3Best = best(uploads.s3.map((u) => u.mibPerSecond));
    const result = {
      package_mib: +(size / MiB).toFixed(1),
      rounds: ROUNDS,
      upload_fs_mib_s: uploads.fs.map((u) => +u.mibPerSecond.toFixed(1)),
      upload_s3_mib_s: uploads.s3.map((u) => +u.mibPerSecond.toFixed(1)),
      upload_ratio_s3_to_fs: +(s3Best / fsBest).toFixed(2),
      upload_fs_rss_growth_mib: uploads.fs.map((u) => +u.rssGrowthMiB.toFixed(1)),
      upload_s3_rss_growth_mib: uploads.s3.map((u) => +u.rssGrowthMiB.toFixed(1)),
      downloads: Object.fromEntries(
        Object.entries(downloads).map(([k, d]) => [
          k,
          { direct_mib_s: d.direct.map((x) => +x.toFixed(1)), proxy_mib_s: d.proxy.map((x) => +x.toFixed(1)), ratio_proxy_to_direct: +(best(d.proxy) / best(d.direct)).toFixed(2), proxy_rss_growth_mib: d.proxyRssGrowthMiB.map((x) => +x.toFixed(1)) },
        ]),
      ),
    };
    console.log(JSON.stringify(result, null, 2));
    await writeFile(path.join(ROOT, 'bench', 'results', 'storage-s3.json'), JSON.stringify(result, null, 2));
  } finally {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await exited;
      }),
    );
    await rm(work, { recursive: true, force: true });
  }
}

await main();
