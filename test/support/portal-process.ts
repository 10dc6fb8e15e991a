import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { PASSWORD } from './api.js';
import { newDeveloperKey } from './packages.js';
import type { ServerProcess } from './server-process.js';

/**
 * Talking to a spawned `mosis-portal serve` (server-process.ts) over real HTTP, and reading what it
 * left on disk and in its database: shared by the test/process/serve-*.test.ts files.
 */

export const ID = 'com.example.notes';

export async function api(server: ServerProcess, method: string, url: string, body?: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A developer with a signing key and an app, made through the API of the running server. */
export async function setUp(server: ServerProcess) {
  await api(server, 'POST', '/v1/auth/register', { email: 'dev@example.com', password: PASSWORD, name: 'Dev' });
  const session = await api(server, 'POST', '/v1/auth/login', { email: 'dev@example.com', password: PASSWORD });
  const token = String(session['access_token']);
  const key = newDeveloperKey();
  await api(server, 'POST', '/v1/signing-keys', { name: 'laptop', public_key: key.publicKeyBase64 }, token);
  const app = await api(server, 'POST', '/v1/apps', { package_id: ID, name: 'Notes' }, token);
  return { token, key, appId: String(app['id']) };
}

/** Opens a chunked upload and returns the request, to write to, plus its eventual answer. */
export function openUpload(server: ServerProcess, appId: string, token: string) {
  const req = request(`${server.baseUrl}/v1/apps/${appId}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
  });
  const answer = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
  return { req, answer };
}

export async function stagingFiles(dataDir: string): Promise<string[]> {
  return readdir(path.join(dataDir, 'packages', '.staging')).catch(() => []);
}

export async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function versionStatuses(databaseUrl: string, dataDir: string): Promise<string[]> {
  const database = openDatabase(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }).database);
  try {
    return (await database.db.selectFrom('versions').select('status').execute()).map((v) => v.status);
  } finally {
    await database.close();
  }
}

export async function versionCount(databaseUrl: string, dataDir: string): Promise<number> {
  const database = openDatabase(loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }).database);
  try {
    return (await database.db.selectFrom('versions').select('id').execute()).length;
  } finally {
    await database.close();
  }
}
