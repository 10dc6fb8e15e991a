import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { sampleApp } from '../../src/cli/sample-app.js';
import { buildPackage } from '../../src/package/build.js';
import { rawPublicKey } from '../../src/package/keys.js';
import type { TestUser } from './api.js';
import type { TestPortal } from './portal.js';

export interface DeveloperKey {
  privateKey: KeyObject;
  publicKeyBase64: string;
}

export function newDeveloperKey(): DeveloperKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKeyBase64: rawPublicKey(publicKey).toString('base64') };
}

/** Registers a signing key for the user through the API. */
export async function registerSigningKey(portal: TestPortal, user: TestUser, key: DeveloperKey = newDeveloperKey()): Promise<DeveloperKey & { id: string; fingerprint: string }> {
  const res = await portal.app.inject({ method: 'POST', url: '/v1/signing-keys', headers: user.auth, payload: { name: 'laptop', public_key: key.publicKeyBase64 } });
  expect(res.statusCode, res.body).toBe(201);
  return { ...key, ...res.json<{ id: string; fingerprint: string }>() };
}

export interface PackageSpec {
  id: string;
  versionCode?: number;
  version?: string;
  key: DeveloperKey;
  /** Extra files (path → content) added to the sample app before signing. */
  files?: Record<string, string | Buffer>;
  /** Changes to manifest.json before signing. */
  manifest?: Record<string, unknown>;
}

/** Builds a signed .mosis of the `mosis init` sample app, with the given changes; returns its path. */
export async function makePackage(spec: PackageSpec): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mosis-pkg-'));
  const src = path.join(dir, 'app');
  for (const file of sampleApp({ id: spec.id, name: 'Notes' })) {
    await mkdir(path.dirname(path.join(src, file.path)), { recursive: true });
    await writeFile(path.join(src, file.path), file.data);
  }
  const manifestPath = path.join(src, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  Object.assign(manifest, { version_code: spec.versionCode ?? 1, version: spec.version ?? `1.0.${spec.versionCode ?? 1}` }, spec.manifest);
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  for (const [file, content] of Object.entries(spec.files ?? {})) {
    await mkdir(path.dirname(path.join(src, file)), { recursive: true });
    await writeFile(path.join(src, file), content);
  }
  const out = path.join(dir, `${spec.id}.mosis`);
  await buildPackage(src, { privateKey: spec.key.privateKey, out });
  return out;
}
