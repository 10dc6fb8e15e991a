import { createHash, verify, type KeyObject } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';
import { approve, upload } from '../support/review.js';
import { storeWorld, wellKnownKey } from '../support/store.js';

let clock: TestClock;


interface IndexVersion {
  version: string;
  version_code: number;
  channel: string;
  sha256: string;
  size: number;
  permissions: string[];
  min_mosis_version: string | null;
  store_signature: string;
  store_key_id: string;
}

/** index.json and its signature, the signature checked the way a device would. */
async function signedIndex(p: TestPortal): Promise<{ bytes: Buffer; etag: string; index: { format: number; apps: { package_id: string; versions: IndexVersion[] }[] }; signature: Buffer; key: KeyObject }> {
  const res = await p.app.inject({ method: 'GET', url: '/v1/store/index.json' });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const bytes = res.rawPayload;
  const etag = res.headers.etag as string;
  expect(etag).toBe(`"${createHash('sha256').update(bytes).digest('hex')}"`);
  const sig = await p.app.inject({ method: 'GET', url: '/v1/store/index.json.sig' });
  expect(sig.statusCode, sig.body).toBe(200);
  expect(sig.headers['content-type']).toMatch(/^text\/plain/);
  const keyId = sig.headers['x-mosis-store-key'] as string;
  expect(res.headers['x-mosis-store-key']).toBe(keyId);
  const key = await wellKnownKey(p, keyId);
  const signature = Buffer.from(sig.body, 'base64');
  expect(signature.length).toBe(64);
  expect(verify(null, bytes, key, signature)).toBe(true);
  return { bytes, etag, index: JSON.parse(bytes.toString('utf8')), signature, key };
}

// The index is a file built from the catalog and signed: bytes, hashes and signatures, the same on every database.
describeOnSqlite(
  'store index: every published version, signed',
  (portal) => {
    it('lists every published, non-yanked version, answers 304 to its ETag, and is re-signed when the catalog changes', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const notes = world.app;
      const n1 = await world.release(notes, 1, { permissions: ['network'] });
      const n2 = await world.release(notes, 2, { channel: 'beta', rollout: 40 });
      const other = await world.newApp('com.example.agenda');
      const a5 = await world.release(other, 5, { minMosisVersion: '1.2.0' });
      // Approved, never published: not in the index.
      await approve(p, world.reviewer, (await upload(p, world.dev, notes, world.key, 3)).id);
      await p.core.store.settled();

      const sha = (file: Buffer) => createHash('sha256').update(file).digest('hex');
      const entry = (file: Buffer, version: string, code: number, channel: string, permissions: string[], min: string) => ({
        version,
        version_code: code,
        channel,
        sha256: sha(file),
        size: file.length,
        permissions,
        min_mosis_version: min,
        store_signature: expect.stringMatching(/^[A-Za-z0-9+/]{86}==$/),
        store_key_id: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const first = await signedIndex(p);
      expect(first.index).toEqual({
        format: 1,
        apps: [
          { package_id: 'com.example.agenda', versions: [entry(a5.file, '1.0.5', 5, 'stable', [], '1.2.0')] },
          { package_id: 'com.example.notes', versions: [entry(n1.file, '1.0.1', 1, 'stable', ['network'], '1.0.0'), entry(n2.file, '1.0.2', 2, 'beta', [], '1.0.0')] },
        ],
      });
      // Each version's store signature in the index verifies too (PACKAGE.md's message).
      for (const app of first.index.apps) {
        for (const v of app.versions) {
          const message = Buffer.from(`mosis-store-v1\n${app.package_id}\n${v.version_code}\n${v.sha256}`, 'utf8');
          expect(verify(null, message, await wellKnownKey(p, v.store_key_id), Buffer.from(v.store_signature, 'base64')), `${app.package_id} ${v.version_code}`).toBe(true);
        }
      }

      const notModified = await p.app.inject({ method: 'GET', url: '/v1/store/index.json', headers: { 'if-none-match': first.etag } });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.rawPayload.length).toBe(0);
      // The same catalog is the same bytes: asking again changes nothing.
      expect((await signedIndex(p)).etag).toBe(first.etag);

      const yank = await p.app.inject({ method: 'POST', url: `/v1/apps/${notes.id}/versions/${n2.id}/yank`, headers: world.dev.auth, payload: { reason: 'Corrupts notes.' } });
      expect(yank.statusCode, yank.body).toBe(200);
      await p.core.store.settled();
      const second = await signedIndex(p);
      expect(second.etag).not.toBe(first.etag);
      expect(second.index.apps.map((a) => [a.package_id, a.versions.map((v) => v.version_code)])).toEqual([
        ['com.example.agenda', [5]],
        ['com.example.notes', [1]],
      ]);
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/index.json', headers: { 'if-none-match': first.etag } })).statusCode).toBe(200);
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/index.json', headers: { 'if-none-match': second.etag } })).statusCode).toBe(304);
      // The old signature does not cover the new bytes, nor the new one the old.
      expect(verify(null, second.bytes, second.key, first.signature)).toBe(false);
      expect(verify(null, first.bytes, first.key, second.signature)).toBe(false);

      // A new app is in the next index, signed again.
      const third = await world.newApp('com.example.zebra');
      await world.release(third, 1);
      const last = await signedIndex(p);
      expect(last.etag).not.toBe(second.etag);
      expect(last.index.apps.map((a) => a.package_id)).toEqual(['com.example.agenda', 'com.example.notes', 'com.example.zebra']);
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);

// On both databases: PostgreSQL's queries take turns of the event loop, where a file error arrives.
describeEachDatabase(
  'store index: a rebuild that cannot write',
  (portal) => {
    it('keeps serving the last index when a rebuild cannot write its file, and builds again once it can', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      await world.release(world.app, 1);
      const before = await signedIndex(p);
      // The index's folder gone (an operator's cleanup, a disk that went read-only): the rebuild
      // fails and says so; the process does not fall over and devices keep the last index.
      const dir = path.join(p.dataDir, 'store-index');
      await rm(dir, { recursive: true, force: true });
      const other = await world.newApp('com.example.other');
      await world.release(other, 1);
      expect(p.logs()).toContain('store: cannot build the signed index, keeping the previous one');
      expect((await signedIndex(p)).etag).toBe(before.etag);

      await mkdir(dir, { mode: 0o700 });
      await world.release(other, 2);
      const after = await signedIndex(p);
      expect(after.index.apps.map((a) => [a.package_id, a.versions.map((v) => v.version_code)])).toEqual([
        ['com.example.notes', [1]],
        ['com.example.other', [1, 2]],
      ]);
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
