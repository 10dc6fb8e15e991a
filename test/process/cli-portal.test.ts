import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { startMailServer } from '../support/accounts.js';
import { PASSWORD } from '../support/api.js';
import { distBuilt } from '../support/dist.js';
import { prepareDatabase, type TestDatabase } from '../support/portal.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

// The `mosis` CLI against a real portal process, as a developer and a CI job use it: the device
// sign-in (its states over HTTP, then `mosis login` approved from a web session), `keys register`,
// `publish --wait` followed to the end while a reviewer approves through the API, `status`,
// `logout`; publishing with MOSIS_TOKEN alone; an upload cut off by the network and tried again;
// a portal that does not answer. One portal process serves every case.

const CLI = path.resolve(import.meta.dirname, '../../packages/cli/dist/cli/main.js');
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let database: TestDatabase;
let server: ServerProcess;
let scratch: string;
let mail: Awaited<ReturnType<typeof startMailServer>>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mosis …` as a child process; `onStderr` sees its notes as they come (the sign-in code). */
function mosis(args: string[], options: { home: string; cwd?: string; env?: Record<string, string>; onStderr?: (text: string) => void }): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? scratch,
      env: { PATH: process.env['PATH'] ?? '', HOME: options.home, MOSIS_HOME: path.join(options.home, '.mosis'), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function api<T = Record<string, unknown>>(method: string, url: string, options: { body?: unknown; token?: string; headers?: Record<string, string>; status?: number } = {}): Promise<T> {
  const res = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }), ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  expect(res.status, `${method} ${url}: ${text}`).toBe(options.status ?? 200);
  return (text === '' ? {} : JSON.parse(text)) as T;
}

async function account(email: string): Promise<{ token: string; web: Record<string, string>; id: string }> {
  await api('POST', '/v1/auth/register', { body: { email, password: PASSWORD, name: email.split('@')[0] }, status: 202 });
  const session = await api<{ access_token: string; user: { id: string } }>('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
  const res = await fetch(`${server.baseUrl}/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrf_token } = (await res.json()) as { csrf_token: string };
  return { token: session.access_token, id: session.user.id, web: { cookie, 'x-csrf-token': csrf_token } };
}

async function withDatabase<T>(work: (db: ReturnType<typeof openDatabase>['db']) => Promise<T>): Promise<T> {
  const opened = openDatabase(loadConfig({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl }).database);
  try {
    return await work(opened.db);
  } finally {
    await opened.close();
  }
}

async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  await distBuilt();
  database = await prepareDatabase('sqlite');
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mosis-cli-portal-'));
  // Reviewers without TOTP: the reviewer here is a role given in the database, not the subject.
  mail = await startMailServer();
  server = await startServer({ DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, REQUIRE_2FA_ROLES: 'none', LOG_LEVEL: 'warn', SMTP_URL: mail.url });
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  await database?.cleanup();
  await mail?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('mosis against a portal', () => {
  it('hands out the CLI that matches it, as an npm package', async () => {
    const res = await fetch(`${server.baseUrl}/downloads/mosis-cli.tgz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect([...new Uint8Array(await res.arrayBuffer()).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
  });

  it('answers the device flow as RFC 8628 says: pending, slow_down when polled too fast, access_denied after a denial', async () => {
    const code = await api<{ device_code: string; user_code: string }>('POST', '/v1/auth/device/code', { body: { client_name: 'probe' } });
    const poll = () => fetch(`${server.baseUrl}/v1/auth/device/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, device_code: code.device_code }) });
    expect(await (await poll()).json()).toMatchObject({ error: 'authorization_pending' });
    const tooFast = await poll();
    expect(tooFast.status).toBe(400);
    expect(await tooFast.json()).toMatchObject({ error: 'slow_down' });
    const someone = await account('someone@example.com');
    await api('POST', '/v1/auth/device/deny', { body: { user_code: code.user_code }, headers: someone.web });
    expect(await (await poll()).json()).toMatchObject({ error: 'access_denied' });

    // A code nobody decided on in time: its ten minutes, moved into the past in the portal's database.
    const late = await api<{ device_code: string; user_code: string }>('POST', '/v1/auth/device/code', { body: { client_name: 'probe' } });
    await withDatabase((db) => db.updateTable('device_authorizations').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('user_code', '=', late.user_code.replace('-', '')).execute());
    const expired = await fetch(`${server.baseUrl}/v1/auth/device/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: GRANT, device_code: late.device_code }) });
    expect(await expired.json()).toMatchObject({ error: 'expired_token' });
    await api('POST', '/v1/auth/device/approve', { body: { user_code: late.user_code }, headers: someone.web, status: 404 });
  });

  it('goes from mosis init to a published version: login approved in the browser session, keys register, publish --wait while a reviewer approves, status, logout', async () => {
    const home = path.join(scratch, 'dana');
    const dev = await account('dana@example.com');
    const reviewer = await account('rita@example.com');
    await withDatabase((db) => db.updateTable('users').set({ role: 'reviewer' }).where('id', '=', reviewer.id).execute());

    expect((await mosis(['init', 'notes', '--id', 'com.example.clinotes', '--name', 'CLI Notes'], { home })).code).toBe(0);
    expect((await mosis(['keys', 'generate'], { home })).code).toBe(0);

    // Not signed in yet: the verbs that need the portal say how to sign in.
    const anonymous = await mosis(['status', '--portal', server.baseUrl], { home });
    expect(anonymous.code).toBe(4);
    expect(anonymous.stderr).toMatch(/^mosis: not signed in to http:\/\/127\.0\.0\.1:\d+: run `mosis login --portal/);

    // mosis login prints the code; the developer approves it where they are signed in.
    let approved = false;
    const login = await mosis(['login', '--portal', server.baseUrl], {
      home,
      onStderr: (text) => {
        const userCode = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(text)?.[1];
        if (userCode === undefined || approved) return;
        approved = true;
        void api('GET', `/v1/auth/device?user_code=${userCode}`, { headers: dev.web }).then((shown) => {
          expect(shown).toMatchObject({ client_name: `mosis CLI on ${os.hostname()}`, scopes: ['apps:read', 'apps:write', 'versions:upload', 'versions:publish', 'keys:manage'] });
          return api('POST', '/v1/auth/device/approve', { body: { user_code: userCode }, headers: dev.web });
        });
      },
    });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Signed in to');
    expect(login.stdout).toContain('as dana <dana@example.com>');
    const credentials = path.join(home, '.mosis', 'credentials');
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(credentials))).mode & 0o777).toBe(0o700);
    // The owner hears of every key a device sign-in hands over: a phished approval does not go unnoticed.
    const told = await until(() => mail.messages.find((m) => m.to.includes('dana@example.com') && m.raw.includes('A new sign-in')), 'the sign-in mail');
    expect(told.raw).toContain(`mosis CLI on ${os.hostname()}`);
    expect(told.raw).toContain('/settings/api-keys');
    // The portal remembered: no --portal from here on.
    expect((await mosis(['config', 'get', 'portal'], { home })).stdout.trim()).toBe(server.baseUrl);

    const register = await mosis(['keys', 'register'], { home });
    expect(register.code, register.stderr).toBe(0);
    expect((await mosis(['keys', 'register'], { home })).stdout).toContain('already registered');

    await writeFile(path.join(scratch, 'notes.txt'), 'First release from the CLI.\n');
    // The reviewer approves as soon as the version waits for review.
    const review = until(async () => {
      const queue = await api<{ items: Array<{ version: { id: string } }> }>('GET', '/v1/review/queue', { token: reviewer.token });
      return queue.items[0];
    }, 'the version to reach the review queue').then(async (item) => {
      await api('POST', `/v1/review/${item.version.id}/decision`, { body: { decision: 'approve' }, token: reviewer.token });
    });
    const publish = await mosis(['publish', 'notes', '--wait', '--channel', 'beta', '--rollout', '50', '--notes', 'notes.txt'], { home });
    await review;
    expect(publish.code, publish.stderr).toBe(0);
    expect(publish.stdout).toContain('Created the app CLI Notes (com.example.clinotes)');
    expect(publish.stdout).toMatch(/Portal checks OK: 0 errors/);
    expect(publish.stdout).toContain('Published com.example.clinotes 1.0.0 on beta to 50% of devices.');

    const status = await mosis(['status', 'com.example.clinotes', '--json'], { home });
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { app: { status: string }; versions: Array<{ status: string; channel: string; rollout_percent: number; release_notes: string; review: { decision: string } }> };
    expect(shown.app.status).toBe('published');
    expect(shown.versions).toEqual([expect.objectContaining({ status: 'published', channel: 'beta', rollout_percent: 50, release_notes: 'First release from the CLI.', review: expect.objectContaining({ decision: 'approve' }) })]);
    expect((await mosis(['status'], { home })).stdout).toMatch(/com\.example\.clinotes\s+CLI Notes\s+published/);

    // Publishing the same package again changes nothing and says so.
    const again = await mosis(['publish', 'notes'], { home });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('is already on the portal (published)');

    const logout = await mosis(['logout'], { home });
    expect(logout.code, logout.stderr).toBe(0);
    await expect(stat(credentials)).rejects.toThrow(/ENOENT/);
    const keys = await api<{ items: Array<{ name: string; revoked_at: string | null }> }>('GET', '/v1/keys', { token: dev.token });
    expect(keys.items).toEqual([expect.objectContaining({ name: `mosis CLI on ${os.hostname()}`, revoked_at: expect.any(String) })]);
    expect((await mosis(['status'], { home })).code).toBe(4);
  }, 60_000);

  it('publishes from CI with MOSIS_TOKEN alone, tries an upload the network cut off again, and says plainly when the portal cannot be reached', async () => {
    const ci = await account('ci@example.com');
    const key = await api<{ key: string }>('POST', '/v1/keys', { body: { name: 'CI', scopes: ['apps:read', 'apps:write', 'versions:upload', 'keys:manage'] }, token: ci.token, status: 201 });
    const home = path.join(scratch, 'ci-runner');
    expect((await mosis(['init', 'app', '--id', 'com.example.ciapp'], { home })).code).toBe(0);
    expect((await mosis(['keys', 'generate'], { home })).code).toBe(0);

    // A proxy that breaks the first upload halfway, as a flaky network does.
    const proxy = await cuttingProxy(new URL(server.baseUrl).port);
    try {
      const env = { MOSIS_TOKEN: key.key, MOSIS_PORTAL: proxy.url };
      // A dry run of an app the portal does not have yet checks here and creates nothing there.
      const dry = await mosis(['publish', 'app', '--dry-run', '--json'], { home, env });
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, app: null, package_id: 'com.example.ciapp' });
      expect(await withDatabase((db) => db.selectFrom('apps').select('id').where('package_id', '=', 'com.example.ciapp').execute())).toEqual([]);

      // The first publish: its upload is cut off and tried again, and then the portal does not know the signing key.
      const unknownKey = await mosis(['publish', 'app'], { home, env });
      expect(proxy.cut).toBe(1);
      expect(unknownKey.stderr).toMatch(/the upload was cut off after .* of .*; trying again in 1 s \(attempt 2 of 3\)/);
      expect(unknownKey.code, unknownKey.stderr).toBe(1);
      expect(unknownKey.stdout).toMatch(/error +T1 +signature_key_not_allowed/);
      expect(unknownKey.stderr).toContain('run `mosis keys register`, then publish again');

      // Registered, the same command publishes the same package.
      expect((await mosis(['keys', 'register', '--json'], { home, env })).code).toBe(0);
      const publish = await mosis(['publish', 'app', '--json'], { home, env });
      expect(publish.code, publish.stderr).toBe(0);
      const result = JSON.parse(publish.stdout) as { app: { package_id: string }; version: { status: string; version: string } };
      expect(result).toMatchObject({ app: { package_id: 'com.example.ciapp' }, version: { status: 'pending_review', version: '1.0.0' } });
      // The failed try and the one waiting for review: the cut-off upload left nothing behind.
      const versions = await withDatabase((db) => db.selectFrom('versions').innerJoin('apps', 'apps.id', 'versions.app_id').select('versions.status').where('apps.package_id', '=', 'com.example.ciapp').orderBy('versions.created_at').execute());
      expect(versions.map((v) => v.status).sort()).toEqual(['failed', 'pending_review']);
      // Now the portal has the app, the dry run is the portal's own.
      const portalDry = await mosis(['publish', 'app', '--dry-run', '--json'], { home, env });
      expect(portalDry.code, portalDry.stderr).toBe(1);
      expect(JSON.parse(portalDry.stdout)).toMatchObject({ dry_run: true, app: 'com.example.ciapp', code: 'package_invalid', errors: [expect.objectContaining({ code: 'version_code_not_higher' })] });
    } finally {
      await proxy.close();
    }

    const closed = await freeClosedPort();
    const offline = await mosis(['status', '--json'], { home, env: { MOSIS_TOKEN: key.key, MOSIS_PORTAL: `http://127.0.0.1:${closed}` } });
    expect(offline.code).toBe(3);
    expect(offline.stderr).toMatch(/^mosis: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(JSON.parse(offline.stdout)).toEqual({ error: { message: expect.stringContaining('cannot reach'), exit_code: 3 } });
  }, 60_000);
});

/** Forwards to the portal; the first connection that carries an upload is cut after half of its first chunk. */
async function cuttingProxy(port: string): Promise<{ url: string; cut: number; close(): Promise<void> }> {
  const state = { cut: 0 };
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = tcpConnect(Number(port), '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (state.cut === 0 && /^POST \/v1\/apps\/[^/]+\/versions /m.test(chunk.toString('latin1'))) {
        state.cut += 1;
        upstream.write(chunk.subarray(0, chunk.length >> 1));
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const proxyPort = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    get cut() {
      return state.cut;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

/** A port nothing listens on. */
async function freeClosedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 9;
}
