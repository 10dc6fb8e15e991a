import { rm } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDatabase, describeOnSqlite } from '../support/portal.js';

// Both dialects: /readyz reads the migrations of the database's own schema, found differently on each.
describeEachDatabase('operations', (portal) => {
  it('/readyz checks the database, migrations and data directories', async () => {
    const res = await portal().app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, migrations: { ok: true }, data_dir: { ok: true }, backups_dir: { ok: true }, packages: { ok: true } },
    });
  });

  it('/readyz answers 503 naming the failing check, and leaves the reason to the log', async () => {
    const p = portal();
    await sql`delete from kysely_migration`.execute(p.database.db);
    const res = await p.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'not_ready',
      checks: { database: { ok: true }, migrations: { ok: false }, data_dir: { ok: true }, backups_dir: { ok: true }, packages: { ok: true }, telemetry: { ok: true } },
    });
    expect(p.logs()).toMatch(/"check":"migrations".*pending: 0001_foundation.*readiness check failed/);
  });

  it('/readyz shows no path to the public when a directory is missing; the log has it', async () => {
    const p = portal();
    await rm(p.config.backupsDir, { recursive: true });
    const res = await p.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'not_ready', checks: { backups_dir: { ok: false } } });
    expect(res.body).not.toContain(p.dataDir);
    expect(res.body).not.toMatch(/ENOENT|backups'/);
    expect(p.logs()).toContain(p.config.backupsDir);
  });
});

// SQLite alone: /healthz asks no database, and the API document and its reference page are the routes'.
describeOnSqlite('operations', (portal) => {
  it('/healthz answers while the process lives', async () => {
    const res = await portal().app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('serves an OpenAPI 3.1 document that validates and covers the routes', async () => {
    const res = await portal().app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const path of ['/v1/auth/register', '/v1/auth/login', '/v1/apps', '/v1/apps/{app_id}/versions', '/v1/signing-keys']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/v1/apps'].post.requestBody.content['application/json'].schema.required).toContain('package_id');
  });

  it('renders the API reference at /docs/api from local assets only', async () => {
    const p = portal();
    const page = await p.app.inject({ method: 'GET', url: '/docs/api/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect(asset).not.toMatch(/^(https?:)?\/\//);
    const script = assets.find((a) => a.endsWith('.js'));
    const js = await p.app.inject({ method: 'GET', url: new URL(script ?? '', 'http://x/docs/api/').pathname });
    expect(js.statusCode).toBe(200);
    // Only Swagger UI's own files, and a name that is none of them never reaches a header: a plain
    // 404 problem with the portal's security headers, not cached.
    for (const url of ['/docs/api/static/package.json', '/docs/api/static/..%2Fpackage.json', '/docs/api/static/a%0d%0aX-Injected:%201', '/docs/api/static/%C4%80']) {
      const refused = await p.app.inject({ method: 'GET', url });
      expect(refused.statusCode, url).toBe(404);
      expect(refused.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(refused.headers['x-injected'], url).toBeUndefined();
      expect(refused.headers['content-security-policy'], url).toBeDefined();
      expect(String(refused.headers['cache-control'] ?? ''), url).not.toMatch(/max-age/);
    }
  });
});
