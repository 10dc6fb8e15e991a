import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreKeys } from '../../src/features/review/index.js';
import { verifyStoreSignature } from '../../src/package/index.js';
import { systemClock } from '../../src/shared/index.js';
import { prepareDatabase, startPortal, type TestPortal } from '../support/portal.js';
import { runPortal } from '../support/server-process.js';

interface PublishedKey {
  key_id: string;
  alg: string;
  public_key: string;
  active: boolean;
  retired_at: string | null;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The key a device would build from the published entry: nothing of the portal's code involved. */
function deviceKey(entry: PublishedKey): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(entry.public_key, 'base64')]), format: 'der', type: 'spki' });
}

async function publishedKeys(p: TestPortal): Promise<PublishedKey[]> {
  const res = await p.app.inject({ method: 'GET', url: '/.well-known/mosis-store-keys.json' });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('public, max-age=300');
  return res.json<{ keys: PublishedKey[] }>().keys;
}

const version = { packageId: 'com.example.notes', versionCode: 12, sha256: 'a'.repeat(64) };

describe('store signing keys', () => {
  it('are made on first start (0600), published by fingerprint, and sign what PACKAGE.md says, verifiable with node:crypto alone', async () => {
    const { portal: p, stop } = await startPortal('sqlite');
    try {
      const keys = await publishedKeys(p);
      expect(keys).toEqual([expect.objectContaining({ alg: 'Ed25519', active: true, retired_at: null })]);
      const [key] = keys as [PublishedKey];
      expect(key.key_id).toBe(createHash('sha256').update(Buffer.from(key.public_key, 'base64')).digest('hex'));
      expect((await stat(path.join(p.dataDir, 'keys', 'store-keys.json'))).mode & 0o777).toBe(0o600);

      const signed = await p.core.storeKeys.sign(version);
      expect(signed.key_id).toBe(key.key_id);
      const message = Buffer.from('mosis-store-v1\ncom.example.notes\n12\n' + 'a'.repeat(64), 'utf8');
      expect(verify(null, message, deviceKey(key), Buffer.from(signed.signature, 'base64'))).toBe(true);
      // Any other version, code or file does not verify with it.
      expect(verifyStoreSignature(deviceKey(key), { ...version, versionCode: 13 }, signed.signature)).toBe(false);
      expect(verifyStoreSignature(deviceKey(key), { ...version, sha256: 'b'.repeat(64) }, signed.signature)).toBe(false);
      expect(verifyStoreSignature(deviceKey(key), { ...version, packageId: 'com.example.other' }, signed.signature)).toBe(false);
      // A value that could smuggle a line into the signed text is refused, not signed.
      await expect(p.core.storeKeys.sign({ ...version, packageId: 'com.example.notes\n13' })).rejects.toThrow(/not a package id/);
    } finally {
      await stop();
    }
  });

  it('agree on one first key when several instances start at once on a fresh DATA_DIR, and leave no temp files', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mosis-store-keys-'));
    try {
      const opened = await Promise.all(Array.from({ length: 12 }, () => StoreKeys.open(dataDir, systemClock)));
      const ids = new Set((await Promise.all(opened.map((k) => k.published()))).map((keys) => keys.map((k) => k.key_id).join()));
      expect(ids.size).toBe(1);
      const file = JSON.parse(await readFile(path.join(dataDir, 'keys', 'store-keys.json'), 'utf8')) as { keys: unknown[] };
      expect(file.keys).toHaveLength(1);
      expect(await readdir(path.join(dataDir, 'keys'))).toEqual(['store-keys.json']);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('rotate-keys --store adds a signing key and keeps the old one published, so old signatures still verify', async () => {
    const db = await prepareDatabase('sqlite');
    try {
      const env = { DATA_DIR: db.dataDir, DATABASE_URL: db.databaseUrl };
      const before = await startPortal('sqlite', env);
      let old: PublishedKey;
      let oldSignature: string;
      try {
        [old] = (await publishedKeys(before.portal)) as [PublishedKey];
        oldSignature = (await before.portal.core.storeKeys.sign(version)).signature;
      } finally {
        await before.stop();
      }

      const rotate = runPortal(['rotate-keys', '--store'], env);
      expect((await rotate.exited).code, rotate.output()).toBe(0);
      expect(rotate.output()).toMatch(/New store signing key [0-9a-f]{64}/);
      expect(rotate.output()).toMatch(/2 store key\(s\) are published/);

      const after = await startPortal('sqlite', env);
      try {
        const keys = await publishedKeys(after.portal);
        expect(keys).toHaveLength(2);
        const [retired, active] = keys as [PublishedKey, PublishedKey];
        expect(retired).toMatchObject({ key_id: old.key_id, public_key: old.public_key, active: false });
        expect(retired.retired_at).not.toBeNull();
        expect(active).toMatchObject({ active: true, retired_at: null });
        expect(verifyStoreSignature(deviceKey(retired), version, oldSignature)).toBe(true);

        const fresh = await after.portal.core.storeKeys.sign(version);
        expect(fresh.key_id).toBe(active.key_id);
        expect(verifyStoreSignature(deviceKey(active), version, fresh.signature)).toBe(true);
        expect(verifyStoreSignature(deviceKey(retired), version, fresh.signature)).toBe(false);
      } finally {
        await after.stop();
      }

      const bad = runPortal(['rotate-keys', '--stor'], env);
      expect((await bad.exited).code).toBe(2);
    } finally {
      await db.cleanup();
    }
  });
});
