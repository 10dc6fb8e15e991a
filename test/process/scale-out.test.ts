import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { totpCode } from '../../src/features/accounts/totp.js';
import { startMailServer } from '../support/accounts.js';
import { PASSWORD } from '../support/api.js';
import { SERVED_BY, startBalancer, type Balancer } from '../support/balancer.js';
import { makePackage, newDeveloperKey } from '../support/packages.js';
import { withPg } from '../support/pg-databases.js';
import { prepareMigratedDatabase, type TestDatabase } from '../support/portal.js';
import { startS3Server, type S3Server } from '../support/s3.js';
import { freePort, runPortal, type ServerProcess } from '../support/server-process.js';
import { distBuilt } from '../support/dist.js';

/*
 * The deployment of the Scale-out section of DESIGN.md, for real: two `mosis-portal serve`
 * processes (the built dist/) on one PostgreSQL database and one S3-compatible store, behind
 * HAProxy (test/support/balancer.ts). A developer's whole journey goes through the balancer, and
 * halfway one instance is killed with SIGKILL (the one holding a webhook delivery in flight) while
 * devices send telemetry and read the store, then started again. What clients were told must hold.
 *
 * Packages: the instances share one DATA_DIR (the token, store and secrets keys every instance
 * needs the same of) and get STORAGE_URL for the S3 server. While the portal keeps packages on the
 * filesystem (PACKAGES_DIR, here inside the shared DATA_DIR) the shared directory is what lets one
 * instance serve what the other stored; once it stores them in S3, the test checks every package
 * is in the bucket and none in PACKAGES_DIR, so a shared directory cannot hide a blob the S3 store
 * failed to write.
 */

const PACKAGE_ID = 'com.example.scaleout';
const EVENTS_PER_BATCH = 20;
const TELEMETRY_SENDERS = 4;
const STORE_READERS = 2;
/** Telemetry batches acknowledged after the webhook is held and before the kill. */
const ACKNOWLEDGED_BEFORE_KILL = 12;
/** Load requests the restarted instance answers before the load stops. */
const SERVED_AFTER_RESTART = 6;

interface Instance {
  name: 'a' | 'b';
  port: number;
  process: ServerProcess;
}

/** One request of a client, as it saw it. */
interface Exchange {
  method: string;
  path: string;
  started: number;
  ended: number;
  status: number;
  servedBy: string | null;
  error?: string;
}

interface HeldHook {
  headers: IncomingHttpHeaders;
  body: string;
  remotePort: number;
}

/** A webhook receiver that holds the first delivery of a ping unanswered until released. */
async function startHoldingReceiver() {
  const received: HeldHook[] = [];
  let held: ServerResponse | undefined;
  let heldHook: HeldHook | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), remotePort: req.socket.remotePort ?? 0 };
      received.push(hook);
      if (req.headers['mosis-event'] === 'ping' && heldHook === undefined) {
        held = res;
        heldHook = hook;
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/mosis`,
    received,
    held: () => heldHook,
    release: () => {
      if (held && !held.destroyed) held.writeHead(200).end('ok');
      held = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Which of `pids` holds the TCP connection whose local port is `port` (Linux: /proc/net/tcp names
 * the socket's inode, /proc/<pid>/fd the sockets a process holds), or null.
 */
function pidOfConnection(port: number, pids: readonly number[]): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = (() => {
      try {
        return readFileSync(table, 'utf8');
      } catch {
        return '';
      }
    })();
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[9]) inodes.add(fields[9]);
    }
  }
  for (const pid of pids) {
    const fds = (() => {
      try {
        return readdirSync(`/proc/${pid}/fd`);
      } catch {
        return [];
      }
    })();
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode !== undefined && inodes.has(inode)) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Starts `serve` on `port` and waits until it answers /readyz itself. */
async function startInstance(name: Instance['name'], port: number, env: Record<string, string>): Promise<Instance> {
  const process = runPortal(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1' });
  let exited = false;
  void process.exited.then(() => (exited = true));
  let last = 'no answer';
  try {
    await until(async () => {
      if (exited) throw new Error(`instance ${name} exited:\n${process.output()}`);
      return fetch(`${process.baseUrl}/readyz`).then(
        async (res) => ((last = `${res.status} ${await res.text()}`), res.ok),
        (err: unknown) => ((last = String(err)), false),
      );
    }, `instance ${name} to be ready`, 30_000);
  } catch (err) {
    throw new Error(`${String(err)}; /readyz last answered: ${last}\n${process.output()}`, { cause: err });
  }
  return { name, port, process };
}

/** Server-Sent Events from /v1/events through the balancer, reconnecting with Last-Event-ID whenever the stream ends. */
function followEvents(url: string, token: string) {
  const seen: { id: number; type: string }[] = [];
  const connections: { servedBy: string | null; lastEventId: string }[] = [];
  const refusals: number[] = [];
  let lastId = '0';
  let stopped = false;
  let controller = new AbortController();
  const loop = (async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'last-event-id': lastId }, signal: controller.signal });
        if (res.status !== 200 || !res.body) {
          refusals.push(res.status);
          await res.arrayBuffer().catch(() => undefined);
          await sleep(50);
          continue;
        }
        connections.push({ servedBy: res.headers.get(SERVED_BY), lastEventId: lastId });
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const id = /^id: ?(\d+)$/m.exec(block)?.[1];
            const type = /^event: ?(.+)$/m.exec(block)?.[1];
            if (id !== undefined) {
              seen.push({ id: Number(id), type: type ?? '' });
              lastId = id;
            }
          }
        }
      } catch {
        // The stream broke (its instance died, or stop()): reconnect, or end.
      }
    }
  })();
  return {
    seen,
    connections,
    refusals,
    stop: async () => {
      stopped = true;
      controller.abort();
      await loop;
    },
  };
}

describe('two portal instances behind HAProxy on one PostgreSQL database and one S3 store [postgres]', () => {
  it('keeps what it acknowledged, runs no job twice and streams events once, in order, across a kill -9 of one instance', async () => {
    await distBuilt();
    const cleanups: (() => Promise<unknown>)[] = [];
    const instances = new Map<Instance['name'], Instance>();
    let database: TestDatabase | undefined;
    let balancer: Balancer | undefined;
    try {
      database = await prepareMigratedDatabase('postgres');
      const dbUrl = database.databaseUrl;
      const s3: S3Server = await startS3Server();
      cleanups.push(() => s3.stop());
      const mail = await startMailServer();
      cleanups.push(() => mail.close());
      const receiver = await startHoldingReceiver();
      cleanups.push(() => receiver.close());

      const ports = { a: await freePort(), b: await freePort() };
      const lb = await startBalancer([
        { name: 'a', port: ports.a },
        { name: 'b', port: ports.b },
      ]);
      balancer = lb;
      const packagesDir = path.join(database.dataDir, 'packages');
      const env: Record<string, string> = {
        DATA_DIR: database.dataDir,
        PACKAGES_DIR: packagesDir,
        DATABASE_URL: dbUrl,
        ...s3.env('scale-out/'),
        BASE_URL: lb.url,
        SMTP_URL: mail.url,
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        // The killed instance's claims pass soon, for the survivor to run them.
        JOBS_LEASE_SECONDS: '3',
        EVENTS_HEARTBEAT_SECONDS: '1',
        TELEMETRY_RATE_LIMIT_PER_MINUTE: '0',
        TELEMETRY_DEVICE_RATE_LIMIT_PER_MINUTE: '0',
        STORE_RATE_LIMIT_PER_MINUTE: '0',
        SHUTDOWN_TIMEOUT_MS: '2000',
      };
      // One at a time: the first makes the keys in DATA_DIR that the second then reads.
      instances.set('a', await startInstance('a', ports.a, env));
      instances.set('b', await startInstance('b', ports.b, env));
      await lb.waitForServers(['a', 'b']).catch((err: unknown) => {
        const logs = [...instances.values()].map((i) => `instance ${i.name}:\n${i.process.output()}`).join('\n');
        throw new Error(`${String(err)}\n${logs}`, { cause: err });
      });

      const exchanges: Exchange[] = [];
      /** A request through the balancer, recorded with when it started and ended and who served it. */
      const call = async (method: string, url: string, init: { body?: unknown; raw?: Buffer; token?: string; headers?: Record<string, string> } = {}) => {
        const started = Date.now();
        const headers: Record<string, string> = { ...init.headers };
        if (init.token) headers['authorization'] = `Bearer ${init.token}`;
        let body: string | Buffer | undefined;
        if (init.raw) {
          headers['content-type'] = 'application/octet-stream';
          body = init.raw;
        } else if (init.body !== undefined) {
          headers['content-type'] = 'application/json';
          body = JSON.stringify(init.body);
        }
        try {
          const res = await fetch(`${lb.url}${url}`, { method, headers, body });
          const bytes = Buffer.from(await res.arrayBuffer());
          const exchange: Exchange = { method, path: url, started, ended: Date.now(), status: res.status, servedBy: res.headers.get(SERVED_BY) };
          exchanges.push(exchange);
          return { status: res.status, bytes, headers: res.headers, servedBy: exchange.servedBy, json: <T = Record<string, unknown>>() => JSON.parse(bytes.toString('utf8')) as T };
        } catch (err) {
          exchanges.push({ method, path: url, started, ended: Date.now(), status: 0, servedBy: null, error: String(err) });
          throw err;
        }
      };
      const ok = async (method: string, url: string, status: number, init: Parameters<typeof call>[2] = {}) => {
        const res = await call(method, url, init);
        // SCALE_OUT_DEBUG=1: the instances' store and event log lines with an unexpected answer.
        if (res.status !== status && process.env['SCALE_OUT_DEBUG']) for (const i of instances.values()) console.log('DEBUG', i.name, res.servedBy, Date.now(), i.process.output().split('\n').filter((l) => /store|event/i.test(l)).join('\n'));
        const last = exchanges.at(-1);
        // What went wrong, from who answered: the balancer's log (which checks failed, why) for an
        // answer of its own, else the instance's warnings and errors.
        const answeredBy = res.servedBy === null ? undefined : instances.get(res.servedBy as Instance['name']);
        const log = answeredBy ? answeredBy.process.output().split('\n').filter((l) => /"level":(?:4|5|6)0/.test(l)).join('\n') : lb.output();
        const why = res.status === status ? '' : `\n${log}`;
        expect(res.status, `${method} ${url} (${res.servedBy ?? 'the balancer'}, ${last ? last.ended - last.started : '?'} ms): ${res.bytes.toString('utf8')}${why}`).toBe(status);
        return res;
      };

      // ---- a developer, an app, a webhook, a package: all through the balancer ----
      const devEmail = 'dana@example.com';
      await ok('POST', '/v1/auth/register', 202, { body: { email: devEmail, password: PASSWORD, name: 'Dana' } });
      const dev = (await ok('POST', '/v1/auth/login', 200, { body: { email: devEmail, password: PASSWORD } })).json<{ access_token: string; user: { id: string } }>();
      const token = dev.access_token;
      // Two streams of the developer's events, opened back to back: round robin puts one on each instance.
      const streams = [followEvents(lb.url, token), followEvents(lb.url, token)];
      cleanups.push(() => Promise.all(streams.map((s) => s.stop())));
      await until(() => streams.every((s) => s.connections.length > 0), 'the event streams to open');

      const key = newDeveloperKey();
      await ok('POST', '/v1/signing-keys', 201, { token, body: { name: 'laptop', public_key: key.publicKeyBase64 } });
      const app = (await ok('POST', '/v1/apps', 201, { token, body: { package_id: PACKAGE_ID, name: 'Scale Out' } })).json<{ id: string }>();
      const webhook = (await ok('POST', `/v1/apps/${app.id}/webhooks`, 201, { token, body: { url: receiver.url, events: ['*'] } })).json<{ id: string }>();
      const file = await readFile(await makePackage({ id: PACKAGE_ID, key, versionCode: 1 }));
      const version = (await ok('POST', `/v1/apps/${app.id}/versions`, 202, { token, raw: file })).json<{ id: string }>();
      await until(
        async () => (await ok('GET', `/v1/apps/${app.id}/versions/${version.id}`, 200, { token })).json<{ status: string }>().status === 'pending_review',
        'the checks to pass',
      );

      // ---- a reviewer: the operator's create-admin, then TOTP (required for admins) ----
      const adminEmail = 'root@example.com';
      const adminPassword = 'admin password for the scale-out test';
      const verb = runPortal(['create-admin', '--email', adminEmail, '--password', adminPassword], env);
      expect((await verb.exited).code, verb.output()).toBe(0);
      const first = (await ok('POST', '/v1/auth/login', 200, { body: { email: adminEmail, password: adminPassword } })).json<{ access_token: string }>();
      const { secret } = (await ok('POST', '/v1/auth/2fa/setup', 200, { token: first.access_token })).json<{ secret: string }>();
      await ok('POST', '/v1/auth/2fa/enable', 200, { token: first.access_token, body: { code: totpCode(secret, new Date()), password: adminPassword } });
      // The next step's code (one step of skew is allowed): newer than the one enrolment used.
      const admin = (await ok('POST', '/v1/auth/login', 200, { body: { email: adminEmail, password: adminPassword, totp_code: totpCode(secret, new Date(Date.now() + 30_000)) } })).json<{ access_token: string }>();
      await ok('POST', `/v1/review/${version.id}/decision`, 200, { token: admin.access_token, body: { decision: 'approve' } });
      await ok('POST', `/v1/apps/${app.id}/versions/${version.id}/publish`, 200, { token, body: { channel: 'stable', rollout_percent: 100 } });

      // ---- the store, on whichever instance: the detail and the file at once, the catalog and updates soon ----
      const sha256 = createHash('sha256').update(file).digest('hex');
      for (let i = 0; i < 2; i++) {
        expect((await ok('GET', `/v1/store/apps/${PACKAGE_ID}`, 200)).json()).toMatchObject({ package_id: PACKAGE_ID, version: { version_code: 1, sha256 } });
        const part = await ok('GET', `/v1/store/packages/${PACKAGE_ID}/1.mosis`, 206, { headers: { range: 'bytes=100-299', 'x-mosis-device': `device-range-${i}` } });
        expect(part.headers.get('content-range')).toBe(`bytes 100-299/${file.length}`);
        expect(part.bytes.equals(file.subarray(100, 300))).toBe(true);
        const whole = await ok('GET', `/v1/store/packages/${PACKAGE_ID}/1.mosis`, 200, { headers: { 'x-mosis-device': `device-whole-${i}` } });
        expect(createHash('sha256').update(whole.bytes).digest('hex')).toBe(sha256);
      }
      await until(async () => (await ok('GET', '/v1/store/apps', 200)).json<{ items: { package_id: string }[] }>().items.some((a) => a.package_id === PACKAGE_ID), 'the catalog to list the app');
      await until(
        async () => (await ok('GET', `/v1/store/apps/updates?pkgs=${PACKAGE_ID}:0`, 200)).json<{ updates: { version_code: number }[] }>().updates[0]?.version_code === 1,
        'the update check to offer version 1 on every instance',
      );

      // ---- load: devices send telemetry and read the store while one instance is killed ----
      const acknowledged = new Set<string>();
      const unanswered = new Set<string>();
      let loadStopped = false;
      let batchNo = 0;
      const now = Date.now();
      const sendTelemetry = async (sender: number) => {
        while (!loadStopped) {
          const batch = `batch-${batchNo++}`;
          const body = {
            app_id: PACKAGE_ID,
            app_version: '1.0.1',
            mosis_version: '1.4.0',
            device_id: `device-${sender}`,
            session_id: batch,
            events: Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({ type: 'screen_view', timestamp: now - i, data: { screen: batch } })),
          };
          const res = await call('POST', '/v1/telemetry/events', { body }).catch(() => null);
          if (res?.status === 202) acknowledged.add(batch);
          else unanswered.add(batch);
        }
      };
      const readStore = async (reader: number) => {
        for (let i = 0; !loadStopped; i++) {
          if (i % 2 === 0) await call('GET', `/v1/store/apps/${PACKAGE_ID}`).catch(() => null);
          else await call('GET', `/v1/store/packages/${PACKAGE_ID}/1.mosis`, { headers: { range: 'bytes=0-1023', 'x-mosis-device': `reader-${reader}` } }).catch(() => null);
        }
      };
      const load = Promise.all([...Array.from({ length: TELEMETRY_SENDERS }, (_, i) => sendTelemetry(i)), ...Array.from({ length: STORE_READERS }, (_, i) => readStore(i))]);

      // A ping: its delivery is held by the receiver, and the instance sending it is the one to kill.
      const ping = (await ok('POST', `/v1/apps/${app.id}/webhooks/${webhook.id}/ping`, 202, { token })).json<{ id: string }>();
      await until(() => receiver.held() !== undefined, 'the ping delivery to reach the receiver');
      const holderPid = pidOfConnection((receiver.held() as HeldHook).remotePort, [...instances.values()].map((i) => i.process.child.pid ?? 0));
      const fallback = instances.get('a') as Instance;
      const victim = [...instances.values()].find((i) => i.process.child.pid === holderPid) ?? fallback;
      const survivor = instances.get(victim.name === 'a' ? 'b' : 'a') as Instance;
      const heldOnVictim = holderPid === victim.process.child.pid;
      const ackedAtPing = acknowledged.size;
      await until(() => acknowledged.size >= ackedAtPing + ACKNOWLEDGED_BEFORE_KILL, 'telemetry to flow');

      const killStarted = Date.now();
      victim.process.child.kill('SIGKILL');
      expect((await victim.process.exited).signal).toBe('SIGKILL');
      const killEnded = Date.now();
      // Whatever the dead instance held is still `running` in the jobs table: a superset of it (the survivor's too).
      const runningAtKill = await withPg(dbUrl, async (c) => (await c.query<{ id: string; kind: string; key: string | null }>("select id, kind, key from jobs where state = 'running'")).rows);
      receiver.release();

      // The survivor carries the load meanwhile; then the instance comes back on its port.
      const servedBeforeRestart = exchanges.length;
      instances.set(victim.name, await startInstance(victim.name, victim.port, env));
      const restarted = instances.get(victim.name) as Instance;
      await until(() => exchanges.slice(servedBeforeRestart).filter((e) => e.servedBy === victim.name && e.started > killEnded).length >= SERVED_AFTER_RESTART, 'the restarted instance to take load', 20_000);
      loadStopped = true;
      await load;

      // ---- after the restart: a write whose event the streams and the webhook get ----
      await ok('PATCH', `/v1/apps/${app.id}`, 200, { token, body: { name: 'Scale Out Again' } });
      expect((await ok('GET', `/v1/apps/${app.id}`, 200, { token })).json()).toMatchObject({ name: 'Scale Out Again' });
      expect((await ok('GET', `/v1/apps/${app.id}/versions/${version.id}`, 200, { token })).json()).toMatchObject({ status: 'published' });

      // Jobs settle: the killed claim's lease passes and the survivor (or the restarted instance) runs it.
      await until(
        async () =>
          withPg(dbUrl, async (c) => Number((await c.query<{ n: string }>("select count(*) as n from jobs where state in ('running', 'queued') and kind in ('webhook.deliver', 'mail.send', 'versions.check')")).rows[0]?.n) === 0),
        'the jobs to finish',
      );
      const events = await withPg(dbUrl, async (c) => (await c.query<{ id: string; type: string; app_id: string | null; payload: string }>('select id, type, app_id, payload from events order by id')).rows);
      const visible = events
        .filter((e) => e.app_id === app.id || (e.type === 'notification.created' && (JSON.parse(e.payload) as { user_id?: string }).user_id === dev.user.id))
        .map((e) => ({ id: Number(e.id), type: e.type }));
      const lastVisible = visible.at(-1)?.id ?? 0;
      await until(() => streams.every((s) => (s.seen.at(-1)?.id ?? 0) >= lastVisible), 'the streams to catch up');
      await Promise.all(streams.map((s) => s.stop()));

      // ---- what must hold ----
      const report = {
        victim: victim.name,
        heldOnVictim,
        acknowledged: acknowledged.size,
        unanswered: [...unanswered],
        runningAtKill,
        streams: streams.map((s) => s.connections),
        killStarted,
        killEnded,
        fivexx: exchanges.filter((e) => e.status >= 500 || e.status === 0),
      };
      console.log(`scale-out: ${JSON.stringify(report)}`);
      // The delivery in flight was the victim's: that is what the kill is about.
      expect(heldOnVictim, 'the held webhook delivery was on the killed instance (found by its connection in /proc)').toBe(true);

      // No client saw a 5xx (or a broken connection) but a POST in flight at the kill; every GET was retried.
      const failed = exchanges.filter((e) => e.status >= 500 || e.status === 0);
      for (const e of failed) {
        expect(e, 'a failure on a request not in flight at the kill').toMatchObject({ method: 'POST' });
        expect(e.started, `${e.method} ${e.path} started before the kill`).toBeLessThanOrEqual(killEnded);
        expect(e.ended, `${e.method} ${e.path} ended after the kill`).toBeGreaterThanOrEqual(killStarted);
      }
      // No bound by sender count: a sender whose batch failed at the kill sends its next at once,
      // and while the killed process's socket is being torn down (killStarted..killEnded) the kernel
      // may still take that one too. It is in flight on the killed instance all the same (above).
      expect(unanswered.size).toBe(failed.length);

      // Telemetry: every batch answered 202 is stored exactly once; one cut off is stored whole or not at all.
      const stored = new Map(
        (
          await withPg(dbUrl, async (c) => (await c.query<{ batch: string; n: string }>("select (data::jsonb)->>'screen' as batch, count(*) as n from telemetry_events group by 1")).rows)
        ).map((r) => [r.batch, Number(r.n)]),
      );
      for (const batch of acknowledged) expect(stored.get(batch), `${batch} was answered 202`).toBe(EVENTS_PER_BATCH);
      for (const [batch, n] of stored) {
        expect(n, `${batch} is stored whole or not at all`).toBe(EVENTS_PER_BATCH);
        expect(acknowledged.has(batch) || unanswered.has(batch), `${batch} was sent`).toBe(true);
      }

      // Jobs: none ran twice but one the killed instance held; none died.
      const jobs = await withPg(dbUrl, async (c) => (await c.query<{ id: string; kind: string; key: string | null; state: string; attempts: number }>('select id, kind, key, state, attempts from jobs')).rows);
      const heldAtKill = new Set(runningAtKill.map((j) => j.id));
      for (const job of jobs.filter((j) => ['webhook.deliver', 'mail.send', 'versions.check'].includes(j.kind))) {
        expect(job.state, `${job.kind} ${job.id}`).toBe('done');
        if (!heldAtKill.has(job.id)) expect(job.attempts, `${job.kind} ${job.id} ran once`).toBe(1);
        else expect(job.attempts, `${job.kind} ${job.id} held at the kill`).toBeLessThanOrEqual(2);
      }
      expect(jobs.filter((j) => j.state === 'dead')).toEqual([]);
      // The ping's job was the victim's, and ran again on another instance.
      expect(runningAtKill.map((j) => j.key)).toContain(ping.id);

      // Webhooks: one delivery per event, each received once, but the one in flight at the kill: twice.
      const deliveries = await withPg(
        dbUrl,
        async (c) => (await c.query<{ id: string; event_id: string | null; event_type: string; state: string }>('select id, event_id, event_type, state from webhook_deliveries where webhook_id = $1', [webhook.id])).rows,
      );
      expect(deliveries.every((d) => d.state === 'succeeded'), JSON.stringify(deliveries)).toBe(true);
      const deliverable = visible.filter((e) => e.type !== 'notification.created').map((e) => e.id);
      const delivered = deliveries.filter((d) => d.event_id !== null).map((d) => Number(d.event_id));
      expect([...delivered].sort((x, y) => x - y)).toEqual(deliverable.filter((id) => events.some((e) => Number(e.id) === id && e.type !== 'app.created')));
      const receipts = new Map<string, number>();
      for (const hook of receiver.received) {
        const id = String(hook.headers['mosis-webhook-id']);
        receipts.set(id, (receipts.get(id) ?? 0) + 1);
      }
      for (const d of deliveries) {
        const times = receipts.get(d.id) ?? 0;
        if (d.id === ping.id) expect(times, 'the ping in flight at the kill').toBe(2);
        else expect(times, `delivery ${d.id} (${d.event_type}) received once`).toBe(1);
      }

      // Mail: one verification mail to the developer, each message once (none was in flight at the kill).
      const messageIds = mail.messages.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1]);
      const mailsHeld = runningAtKill.filter((j) => j.kind === 'mail.send').length;
      expect(messageIds.length - new Set(messageIds).size).toBeLessThanOrEqual(mailsHeld);
      expect(mail.messages.filter((m) => m.to.includes(devEmail)).length).toBeGreaterThanOrEqual(1);

      // Live events: each stream saw every event of the developer's once, in order, across its reconnects.
      for (const stream of streams) {
        expect(stream.seen.map((e) => e.id)).toEqual(visible.map((e) => e.id));
        expect(stream.refusals.filter((s) => s >= 500)).toEqual([]);
      }
      // The stream on the killed instance reconnected (with its Last-Event-ID) to the other.
      const onVictim = streams.filter((s) => s.connections[0]?.servedBy === victim.name);
      expect(onVictim.length).toBeGreaterThanOrEqual(1);
      for (const stream of onVictim) {
        expect(stream.connections.length).toBeGreaterThanOrEqual(2);
        expect(Number(stream.connections[1]?.lastEventId)).toBeGreaterThan(0);
      }

      // Packages: in S3 once the portal stores them there, and then not in the shared PACKAGES_DIR.
      const inBucket = await s3.client().send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'scale-out/' }));
      const keys = (inBucket.Contents ?? []).map((o) => o.Key ?? '');
      if (keys.length > 0) {
        expect(keys.some((k) => k.includes(sha256)), `package ${sha256} in ${keys.join(', ')}`).toBe(true);
        const local = await readFile(path.join(packagesDir, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256)).then(
          () => true,
          () => false,
        );
        expect(local, 'a package stored in S3 is not also in PACKAGES_DIR').toBe(false);
      } else {
        console.log('scale-out: packages are on the shared PACKAGES_DIR (the portal does not store them in S3 yet)');
      }

      expect(survivor.process.child.exitCode).toBeNull();
      expect(restarted.process.child.exitCode).toBeNull();
    } finally {
      for (const instance of instances.values()) instance.process.child.kill('SIGKILL');
      await Promise.all([...instances.values()].map((i) => i.process.exited));
      await balancer?.stop();
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await database?.cleanup();
    }
  }, 90_000);
});
