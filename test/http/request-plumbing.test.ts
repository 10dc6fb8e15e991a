import net from 'node:net';
import helmet from '@fastify/helmet';
import Fastify, { type LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { expectProblem } from '../support/api.js';
import { describeOnSqlite, type TestPortal } from '../support/portal.js';

/**
 * The headers @fastify/helmet sends with the options the portal registered it with until its
 * headers were written down in src/http/security.ts: the portal must keep sending every one of them.
 */
async function helmetHeaders(https: boolean): Promise<Record<string, string>> {
  const app = Fastify();
  await app.register(helmet, {
    global: true,
    hsts: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  app.get('/', () => ({ ok: true }));
  const res = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  const own = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !own.has(name.toLowerCase())).map(([name, value]) => [name.toLowerCase(), String(value)]));
  // A reference that sent nothing would make the comparison below pass on anything.
  expect(Object.keys(headers).length).toBeGreaterThan(8);
  return headers;
}

/** A normal answer and the error answers of each path an error takes to the client. */
async function sampleAnswers(p: TestPortal): Promise<LightMyRequestResponse[]> {
  const ok = await p.app.inject({ method: 'GET', url: '/healthz' });
  expect(ok.statusCode).toBe(200);
  const notFound = await p.app.inject({ method: 'GET', url: '/v1/nothing-here' });
  expectProblem(notFound, 404, 'not_found');
  const thrown = await p.app.inject({ method: 'GET', url: '/v1/apps' });
  expectProblem(thrown, 401, 'unauthorized');
  const unparsable = await p.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
  expectProblem(unparsable, 400, 'malformed_json');
  return [ok, notFound, thrown, unparsable];
}

function logLines(p: TestPortal): Record<string, unknown>[] {
  return p
    .logs()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describeOnSqlite('security headers over http', (portal) => {
  it('are the headers helmet sent, on answers and on errors, with a request id', async () => {
    const expected = await helmetHeaders(false);
    expect(expected['strict-transport-security']).toBeUndefined();
    for (const res of await sampleAnswers(portal())) {
      for (const [name, value] of Object.entries(expected)) expect(res.headers[name], `${name} on ${res.statusCode}`).toBe(value);
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

describeOnSqlite(
  'security headers over https',
  (portal) => {
    it('add HSTS to the rest, on answers and on errors', async () => {
      const expected = await helmetHeaders(true);
      expect(expected['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      for (const res of await sampleAnswers(portal())) {
        for (const [name, value] of Object.entries(expected)) expect(res.headers[name], `${name} on ${res.statusCode}`).toBe(value);
      }
    });
  },
  { env: () => ({ BASE_URL: 'https://portal.example' }) },
);

describeOnSqlite('request log', (portal) => {
  it('has one line per request, written when it ends: method, redacted URL, client, status, time and request id', async () => {
    const p = portal();
    const ok = await p.app.inject({ method: 'GET', url: '/.well-known/mosis-store-keys.json', headers: { 'x-request-id': 'log-ok' } });
    expect(ok.statusCode).toBe(200);
    const refused = await p.app.inject({ method: 'GET', url: '/v1/nothing?token=s3cr3t-t0ken&page=2', headers: { 'x-request-id': 'log-refused' } });
    expectProblem(refused, 404, 'not_found');

    const lines = logLines(p);
    const okLines = lines.filter((l) => l['reqId'] === 'log-ok');
    expect(okLines).toHaveLength(1);
    expect(okLines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'GET', url: '/.well-known/mosis-store-keys.json', remoteAddress: '127.0.0.1' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
    const refusedLines = lines.filter((l) => l['reqId'] === 'log-refused');
    expect(refusedLines).toHaveLength(1);
    expect(refusedLines[0]).toMatchObject({
      msg: 'request completed',
      req: { method: 'GET', url: '/v1/nothing?token=[redacted]&page=2' },
      res: { statusCode: 404 },
      responseTime: expect.any(Number),
    });
    expect(p.logs()).not.toContain('s3cr3t-t0ken');
  });

  it('keeps the health checks out of it unless they fail', async () => {
    const p = portal();
    const res = await p.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'log-health' } });
    expect(res.statusCode).toBe(200);
    expect(logLines(p).filter((l) => l['reqId'] === 'log-health')).toEqual([]);
  });

  it('has a line for a request whose client went away before the answer', async () => {
    const p = portal();
    await p.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = p.app.server.address() as net.AddressInfo;
    // Half a login body, then the connection closes: no answer is ever written.
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write('POST /v1/auth/login?code=one-time HTTP/1.1\r\nHost: portal\r\nX-Request-Id: log-gone\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"email":');
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
      socket.on('error', reject);
    });
    await expect.poll(() => logLines(p).filter((l) => l['reqId'] === 'log-gone'), { timeout: 2_000 }).toEqual([
      expect.objectContaining({ msg: 'request aborted by the client', req: expect.objectContaining({ method: 'POST', url: '/v1/auth/login?code=[redacted]' }) }),
    ]);
  });
});

describe('request ids', () => {
  it('are told apart and ordered by time across a refill of their randomness', async () => {
    const { createServer } = await import('../../src/http/server.js');
    const { loadConfig } = await import('../../src/config/index.js');
    const { systemIds, systemClock } = await import('../../src/shared/index.js');
    const { pino } = await import('pino');
    const app = await createServer(loadConfig({ DATA_DIR: '/nonexistent' }), systemIds(systemClock), { logger: pino({ level: 'silent' }), version: 'test' });
    app.get('/id', (request) => ({ id: request.id }));
    const ids: string[] = [];
    // More than one pool of randomness (256 ids).
    for (let i = 0; i < 600; i++) ids.push((await app.inject({ method: 'GET', url: '/id' })).json<{ id: string }>().id);
    await app.close();
    expect(new Set(ids).size).toBe(ids.length);
    const times = ids.map((id) => parseInt(id.replace(/-/g, '').slice(0, 12), 16));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.abs((times.at(-1) ?? 0) - Date.now())).toBeLessThan(60_000);
  });
});
