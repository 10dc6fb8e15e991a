import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createServer } from '../../src/http/index.js';
import { WEB_APP_CONTENT_SECURITY_POLICY, webAppRoutes } from '../../src/http/web-app.js';
import { systemClock, systemIds } from '../../src/shared/index.js';

// How the portal serves the built web UI (src/http/web-app.ts), on a server with a route of its
// own and a made-up build: the files, their caching, the history fallback, and what stays the API's.

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const INDEX = '<!doctype html><title>Mosis Portal</title><script type="module" src="/assets/index-abc123.js"></script>';

async function server(dir: string): Promise<FastifyInstance> {
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const app = await createServer(config, systemIds(systemClock), { logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() })), version: '0.0.0' });
  app.get('/v1/things', () => ({ items: [] }));
  webAppRoutes(app, { dir });
  await app.ready();
  return app;
}

describe('the web UI at /', () => {
  let root: string;
  let built: FastifyInstance;
  let unbuilt: FastifyInstance;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mosis-web-app-'));
    const dir = path.join(root, 'web');
    await mkdir(path.join(dir, 'assets'), { recursive: true });
    await writeFile(path.join(dir, 'index.html'), INDEX);
    await writeFile(path.join(dir, 'assets/index-abc123.js'), 'console.log("hi")');
    await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(path.join(dir, '.stamp'), 'not served');
    built = await server(dir);
    unbuilt = await server(path.join(root, 'missing'));
  });

  afterAll(async () => {
    await built.close();
    await unbuilt.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers index.html for / and any page address, revalidated, with the CSP that allows upload previews', async () => {
    for (const url of ['/', '/apps', '/apps/a1/versions/v1', '/verify-email?token=mev_x', '/store/com.example.notes']) {
      const res = await built.inject({ method: 'GET', url, headers: HTML });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(WEB_APP_CONTENT_SECURITY_POLICY);
    }
    expect(WEB_APP_CONTENT_SECURITY_POLICY).toContain("img-src 'self' data: blob:");
    expect(WEB_APP_CONTENT_SECURITY_POLICY).toContain("script-src 'self';");
    expect(WEB_APP_CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');

    const first = await built.inject({ method: 'GET', url: '/apps', headers: HTML });
    const again = await built.inject({ method: 'GET', url: '/apps', headers: { ...HTML, 'if-none-match': String(first.headers['etag']) } });
    expect(again.statusCode).toBe(304);
    // curl and fetch() take anything, and get the page too.
    expect((await built.inject({ method: 'GET', url: '/apps', headers: { accept: '*/*' } })).body).toBe(INDEX);
    const head = await built.inject({ method: 'HEAD', url: '/settings', headers: HTML });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('serves the hashed assets for a year and other files revalidated; a missing asset or dot-file is a 404', async () => {
    const asset = await built.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await built.inject({ method: 'GET', url: '/favicon.svg' });
    expect([icon.statusCode, icon.headers['content-type'], icon.headers['cache-control']]).toEqual([200, 'image/svg+xml', 'no-cache']);
    expect((await built.inject({ method: 'GET', url: '/assets/index-old999.js', headers: HTML })).statusCode).toBe(404);
    // A dot-file of the build is no file of the site: the address is a page (index.html), never its content.
    expect((await built.inject({ method: 'GET', url: '/.stamp', headers: HTML })).body).toBe(INDEX);
  });

  it('leaves the API, the docs and the probes alone: unknown paths there keep their problem+json 404', async () => {
    expect((await built.inject({ method: 'GET', url: '/v1/things' })).json()).toEqual({ items: [] });
    for (const url of ['/v1/nope', '/v1', '/docs/nope', '/healthz', '/readyz/x', '/metrics', '/.well-known/nope']) {
      const res = await built.inject({ method: 'GET', url, headers: HTML });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toBe('application/problem+json');
      expect(res.json().code).toBe('not_found');
    }
    // Writes are never pages: a POST to a page address is the API's 404, a wrong method on a route its 405.
    expect((await built.inject({ method: 'POST', url: '/apps', headers: HTML })).statusCode).toBe(404);
    // A client that says nothing of what it takes (a script, a probe) is not opening a page.
    const script = await built.inject({ method: 'GET', url: '/apps' });
    expect([script.statusCode, script.json().code]).toEqual([404, 'not_found']);
    // The same address answers the page or the 404 by Accept: both say so to shared caches.
    expect(script.headers['vary']).toBe('Accept');
    expect((await built.inject({ method: 'GET', url: '/apps', headers: HTML })).headers['vary']).toBe('Accept');
    // Files are files, whoever asks.
    expect((await built.inject({ method: 'GET', url: '/favicon.svg' })).statusCode).toBe(200);
    expect((await built.inject({ method: 'DELETE', url: '/v1/things' })).statusCode).toBe(405);
  });

  it('says how to build it when dist/web is missing, without failing the start', async () => {
    const res = await unbuilt.inject({ method: 'GET', url: '/apps', headers: HTML });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'web_ui_not_built', title: 'The web UI is not built' });
    expect(res.json().detail).toContain('npm run build');
    expect((await unbuilt.inject({ method: 'GET', url: '/v1/things' })).statusCode).toBe(200);
    expect((await unbuilt.inject({ method: 'GET', url: '/apps' })).statusCode).toBe(404);
  });
});
