import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { collectGarbage } from '../../src/storage/index.js';
import { runJobs } from '../support/accounts.js';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { makePackage, registerSigningKey, type DeveloperKey } from '../support/packages.js';
import { describeEachDatabase, describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';

const ID = 'com.example.notes';

async function developerWithApp(p: TestPortal, name = 'Dev'): Promise<{ dev: TestUser; key: DeveloperKey; appId: string }> {
  const dev = await registerUser(p, name);
  const key = await registerSigningKey(p, dev);
  const app = await createApp(p, dev, ID);
  return { dev, key, appId: app.id };
}

function uploadRaw(p: TestPortal, dev: TestUser, appId: string, body: Buffer | Readable, query = '') {
  return p.app.inject({
    method: 'POST',
    url: `/v1/apps/${appId}/versions${query}`,
    headers: { ...dev.auth, 'content-type': 'application/octet-stream' },
    payload: body,
  });
}

function multipart(field: string, filename: string, data: Buffer): { body: Buffer; contentType: string } {
  const boundary = '----mosis-test-boundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  return { body: Buffer.concat([head, data, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function storedBlobs(p: TestPortal): Promise<string[]> {
  const found: string[] = [];
  for await (const hash of p.blobs.list()) found.push(hash);
  return found;
}

async function staging(p: TestPortal): Promise<string[]> {
  return readdir(path.join(p.config.packagesDir, '.staging')).catch(() => []);
}

interface VersionView {
  id: string;
  status: string;
  sha256: string;
  version: string;
  version_code: number;
  checks: unknown[];
  [field: string]: unknown;
}

/** The version as its developer reads it once the check job has run. */
async function checked(p: TestPortal, dev: TestUser, appId: string, versionId: string): Promise<VersionView> {
  await runJobs(p);
  const res = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/versions/${versionId}`, headers: dev.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Uploads, expects 202 processing, runs the checks: the version as it ends. */
async function uploadChecked(p: TestPortal, dev: TestUser, appId: string, body: Buffer | Readable): Promise<VersionView> {
  const res = await uploadRaw(p, dev, appId, body);
  expect(res.statusCode, res.body).toBe(202);
  expect(res.json()).toMatchObject({ status: 'processing' });
  return checked(p, dev, appId, res.json<{ id: string }>().id);
}

async function versionRows(p: TestPortal) {
  return p.database.db.selectFrom('versions').select(['status', 'version_code', 'sha256']).execute();
}

// Both dialects: a package is unique per app and a version_code per app (a partial unique index), in the transaction that stores the upload.
describeEachDatabase('version upload', (portal) => {
  it('takes a raw .mosis body, stores the blob by its hash, answers 202 processing, and its checks move it to pending_review', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const file = await makePackage({ id: ID, versionCode: 3, version: '1.2.0', key, manifest: { permissions: ['storage'] } });
    const bytes = await readFile(file);
    const res = await uploadRaw(p, dev, appId, createReadStream(file));
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ app_id: appId, status: 'processing', size: bytes.length, version: '', version_code: 0, checks: [] });
    // Stored before any check ran: the job reads it from the blob store.
    expect(await storedBlobs(p)).toEqual([res.json().sha256]);
    const version = await checked(p, dev, appId, res.json().id);
    expect(version).toMatchObject({
      app_id: appId,
      version: '1.2.0',
      version_code: 3,
      status: 'pending_review',
      size: bytes.length,
      permissions: ['storage'],
      release_notes: null,
      review: null,
      channel: null,
      rollout_percent: null,
      published_at: null,
    });
    expect(version.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await storedBlobs(p)).toEqual([version.sha256]);
    // What gc asks before it deletes a blob (test/process/serve-commands.test.ts runs gc on SQLite alone).
    expect(await p.core.blobReferences.isReferenced(version.sha256)).toBe(true);
    expect(await staging(p)).toEqual([]);
    const blobPath = path.join(p.config.packagesDir, 'sha256', version.sha256.slice(0, 2), version.sha256.slice(2, 4), version.sha256);
    expect((await stat(blobPath)).size).toBe(bytes.length);

    const one = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/versions/${version.id}`, headers: dev.auth });
    expect(one.json()).toEqual(version);
    const list = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/versions`, headers: dev.auth });
    expect(list.json()).toEqual({ items: [version], next_cursor: null });
  });

  it('refuses the same package twice with 409, while it is checked and after', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const bytes = await readFile(await makePackage({ id: ID, key }));
    expect((await uploadRaw(p, dev, appId, bytes)).statusCode).toBe(202);
    expectProblem(await uploadRaw(p, dev, appId, bytes), 409, 'version_exists');
    await runJobs(p);
    expectProblem(await uploadRaw(p, dev, appId, bytes), 409, 'version_exists');
    expect(await versionRows(p)).toHaveLength(1);
  });

  it('requires a version_code above every existing one, in a dry run and in the checks', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    expect((await uploadChecked(p, dev, appId, await readFile(await makePackage({ id: ID, versionCode: 5, key })))).status).toBe('pending_review');
    const again = await readFile(await makePackage({ id: ID, versionCode: 5, version: '9.9.9', key }));
    const dry = expectProblem(await uploadRaw(p, dev, appId, again, '?dry_run=true'), 422, 'package_invalid');
    expect(dry['errors']).toEqual([expect.objectContaining({ code: 'version_code_not_higher', tier: 1 })]);
    const lower = await uploadChecked(p, dev, appId, again);
    expect(lower).toMatchObject({ status: 'failed', version_code: 5, checks: [expect.objectContaining({ code: 'version_code_not_higher' })] });
    expect((await versionRows(p)).filter((v) => v.status !== 'failed').map((v) => v.version_code)).toEqual([5]);
  });

  it('gives a version_code to one of two uploads checked at once, and fails the other', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    for (const version of ['1.0.0', '1.0.1']) expect((await uploadRaw(p, dev, appId, await readFile(await makePackage({ id: ID, versionCode: 2, version, key })))).statusCode).toBe(202);
    await runJobs(p);
    const rows = await versionRows(p);
    expect(rows.map((v) => v.status).sort()).toEqual(['failed', 'pending_review']);
  });

  it('records a package that fails its checks as failed, with the findings, and keeps no blob', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const failed = await uploadChecked(p, dev, appId, await readFile(await makePackage({ id: 'com.example.other', key })));
    expect(failed.status).toBe('failed');
    expect(failed.checks).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'manifest_id_mismatch', tier: 1, severity: 'error' })]));
    const list = (await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/versions`, headers: dev.auth })).json();
    expect(list.items).toEqual([failed]);
    // Its bytes are no longer referenced: gc drops them.
    expect(await p.core.blobReferences.isReferenced(failed.sha256)).toBe(false);
    expect(await collectGarbage(p.blobs, (sha) => p.core.blobReferences.isReferenced(sha), { graceMs: 0, now: new Date(Date.now() + 1000) })).toMatchObject({ deleted: 1 });
    expect(await storedBlobs(p)).toEqual([]);
    expect(await staging(p)).toEqual([]);
    // A failed upload does not hold its version code: the fixed package goes up with the same one.
    expect((await uploadChecked(p, dev, appId, await readFile(await makePackage({ id: ID, key })))).status).toBe('pending_review');
  });
});

// SQLite alone: how the body arrives (raw, in pieces, multipart, over the limit), who may send it and
// what the checks make of it are the HTTP layer's, the services' and the checker's; the rows they write
// (or do not) are the ones the suite above writes on both dialects.
describeOnSqlite('version upload', (portal) => {
  it('takes a package that arrives in pieces of a few hundred bytes, large assets included', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const asset = randomBytes(2 * 1024 * 1024);
    const file = await makePackage({ id: ID, key, files: { 'assets/photo.bin': asset, 'assets/notes.txt': 'a line of notes\n'.repeat(20_000) } });
    const bytes = await readFile(file);
    const pieces = function* () {
      for (let at = 0; at < bytes.length; at += 333) yield bytes.subarray(at, at + 333);
    };
    const version = await uploadChecked(p, dev, appId, Readable.from(pieces()));
    expect(version).toMatchObject({ status: 'pending_review', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(await staging(p)).toEqual([]);
  });

  it('takes the package as the multipart field "package"', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const form = multipart('package', 'notes.mosis', await readFile(await makePackage({ id: ID, key })));
    const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/versions`, headers: { ...dev.auth, 'content-type': form.contentType }, payload: form.body });
    expect(res.statusCode, res.body).toBe(202);
    expect((await checked(p, dev, appId, res.json().id)).status).toBe('pending_review');
  });

  it('refuses a multipart upload without the "package" field and stores nothing', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const form = multipart('file', 'notes.mosis', await readFile(await makePackage({ id: ID, key })));
    const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/versions`, headers: { ...dev.auth, 'content-type': form.contentType }, payload: form.body });
    expectProblem(res, 400, 'package_missing');
    expect(await versionRows(p)).toEqual([]);
  });

  it('runs every check on dry_run and stores nothing', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const res = await uploadRaw(p, dev, appId, await readFile(await makePackage({ id: ID, versionCode: 7, key })), '?dry_run=true');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ dry_run: true, version_code: 7, checks: expect.any(Array) });
    expect(await versionRows(p)).toEqual([]);
    expect(await storedBlobs(p)).toEqual([]);
    expect(await staging(p)).toEqual([]);
  });

  it('refuses a package signed by a key that is not one of the owner\'s active keys', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const other = await registerUser(p, 'Other');
    const othersKey = await registerSigningKey(p, other);
    const version = await uploadChecked(p, dev, appId, await readFile(await makePackage({ id: ID, key: othersKey })));
    expect(version.status).toBe('failed');
    expect(version.checks).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'signature_key_not_allowed' })]));
  });

  it('refuses a package signed by a revoked key', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const key = await registerSigningKey(p, dev);
    const app = await createApp(p, dev, ID);
    expect((await p.app.inject({ method: 'DELETE', url: `/v1/signing-keys/${key.id}`, headers: dev.auth })).statusCode).toBe(204);
    const version = await uploadChecked(p, dev, app.id, await readFile(await makePackage({ id: ID, key })));
    expect(version.status).toBe('failed');
    expect(version.checks).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'signature_key_not_allowed' })]));
  });

  it('refuses garbage that is not a ZIP with package_invalid', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const dry = expectProblem(await uploadRaw(p, dev, appId, Buffer.from('this is not a zip file at all'), '?dry_run=true'), 422, 'package_invalid');
    expect(dry['errors']).toEqual(expect.arrayContaining([expect.objectContaining({ tier: 1 })]));
    const version = await uploadChecked(p, dev, appId, Buffer.from('this is not a zip file at all'));
    expect(version).toMatchObject({ status: 'failed', version: '', version_code: 0 });
    expect(version.checks).toEqual(expect.arrayContaining([expect.objectContaining({ tier: 1, severity: 'error' })]));
  });

  it("answers 404 for someone else's app before reading the body, and stores nothing", async () => {
    const p = portal();
    const { appId } = await developerWithApp(p, 'Owner');
    const intruder = await registerUser(p, 'Intruder');
    const intrudersKey = await registerSigningKey(p, intruder);
    const res = await uploadRaw(p, intruder, appId, await readFile(await makePackage({ id: ID, key: intrudersKey })));
    expectProblem(res, 404, 'app_not_found');
    expect(await versionRows(p)).toEqual([]);
    expect(await staging(p)).toEqual([]);
    const read = await p.app.inject({ method: 'GET', url: `/v1/apps/${appId}/versions`, headers: intruder.auth });
    expectProblem(read, 404, 'app_not_found');
  });

  it('requires authentication', async () => {
    const p = portal();
    const { appId } = await developerWithApp(p);
    const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/versions`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('x') });
    expectProblem(res, 401, 'unauthorized');
  });

  it('refuses an unsupported content type with 415', async () => {
    const p = portal();
    const { dev, appId } = await developerWithApp(p);
    const res = await p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/versions`, headers: { ...dev.auth, 'content-type': 'text/plain' }, payload: 'hello' });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('cuts off a body over the limit mid-stream with 413, removes the staging file and records nothing', async () => {
    const p = portal();
    const limited = await startPortal(p.dialect, { MAX_PACKAGE_BYTES: String(64 * 1024) });
    try {
      const q = limited.portal;
      const { dev, appId } = await developerWithApp(q);
      let sent = 0;
      // No Content-Length: the limit can only be enforced while the bytes arrive.
      const body = new Readable({
        read() {
          sent += 16 * 1024;
          this.push(sent > 1024 * 1024 ? null : Buffer.alloc(16 * 1024, 7));
        },
      });
      const res = await uploadRaw(q, dev, appId, body);
      expectProblem(res, 413, 'payload_too_large');
      expect(res.headers['connection']).toBe('close');
      expect(await versionRows(q)).toEqual([]);
      expect(await staging(q)).toEqual([]);
      expect(await storedBlobs(q)).toEqual([]);

      const declared = await q.app.inject({
        method: 'POST',
        url: `/v1/apps/${appId}/versions`,
        headers: { ...dev.auth, 'content-type': 'application/octet-stream', 'content-length': String(10 * 1024 * 1024) },
        payload: Buffer.alloc(10 * 1024 * 1024),
      });
      expectProblem(declared, 413, 'payload_too_large');
    } finally {
      await limited.stop();
    }
  });
});

describeOnSqlite('version details', (portal) => {
  it('lets the owner edit release notes, and nobody else', async () => {
    const p = portal();
    const { dev, key, appId } = await developerWithApp(p);
    const version = await uploadChecked(p, dev, appId, await readFile(await makePackage({ id: ID, key })));
    const url = `/v1/apps/${appId}/versions/${version.id}`;
    const res = await p.app.inject({ method: 'PATCH', url, headers: dev.auth, payload: { release_notes: 'Fixes the crash on start.' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ...version, release_notes: 'Fixes the crash on start.' });

    const other = await registerUser(p, 'Other');
    expectProblem(await p.app.inject({ method: 'PATCH', url, headers: other.auth, payload: { release_notes: 'pwned' } }), 404, 'app_not_found');
    expectProblem(await p.app.inject({ method: 'GET', url, headers: other.auth }), 404, 'app_not_found');
    expectProblem(await p.app.inject({ method: 'PATCH', url, headers: dev.auth, payload: { release_notes: 'x'.repeat(4001) } }), 400, 'validation_failed');
    expectProblem(await p.app.inject({ method: 'PATCH', url, headers: dev.auth, payload: { release_notes: 'ok', status: 'published' } }), 400, 'validation_failed');
    expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}/versions/nope`, headers: dev.auth, payload: { release_notes: 'x' } }), 404, 'version_not_found');
    const row = await p.database.db.selectFrom('versions').select(['release_notes', 'status']).executeTakeFirstOrThrow();
    expect(row).toEqual({ release_notes: 'Fixes the crash on start.', status: 'pending_review' });
  });

  it('answers 507 when the disk is full, leaves nothing behind, and takes uploads again once space is freed', async (ctx) => {
    const p = portal();
    const mountPoint = await mkdtemp(path.join(tmpdir(), 'mosis-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    } catch {
      await rm(mountPoint, { recursive: true, force: true });
      ctx.skip('mounting a small tmpfs needs root; the disk-full case is not exercised here');
    }
    // The whole DATA_DIR (SQLite database included, on that dialect) lives on the small disk.
    const env: Record<string, string> = { DATA_DIR: mountPoint };
    if (p.dialect === 'sqlite') env['DATABASE_URL'] = `sqlite:${path.join(mountPoint, 'portal.db')}`;
    const full = await startPortal(p.dialect, env);
    try {
      const q = full.portal;
      const { dev, key, appId } = await developerWithApp(q);
      const filler = path.join(mountPoint, 'filler.bin');
      const { bavail, bsize } = await statfs(mountPoint);
      await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - 150 * 1024)));
      const bytes = await readFile(await makePackage({ id: ID, key, files: { 'assets/data.bin': randomBytes(300 * 1024) } }));
      expectProblem(await uploadRaw(q, dev, appId, bytes), 507, 'insufficient_storage');
      expect(await versionRows(q)).toEqual([]);
      expect(await staging(q)).toEqual([]);
      expect(await storedBlobs(q)).toEqual([]);

      await rm(filler);
      const res = await uploadRaw(q, dev, appId, bytes);
      expect(res.statusCode, res.body).toBe(202);
      expect(await storedBlobs(q)).toEqual([res.json().sha256]);
    } finally {
      await full.stop();
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });
});

// Both dialects: a duplicate key is a unique violation, recognised per driver.
describeEachDatabase('signing keys', (portal) => {
  it('refuses a malformed key, a non-Ed25519 key and a duplicate, storing nothing', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const publicKey of ['not a key', Buffer.alloc(31).toString('base64'), rsa]) {
      const res = await p.app.inject({ method: 'POST', url: '/v1/signing-keys', headers: dev.auth, payload: { name: 'bad', public_key: publicKey } });
      expectProblem(res, 422, 'invalid_public_key');
    }
    expect(await p.database.db.selectFrom('signing_keys').select('id').execute()).toHaveLength(0);
    const key = await registerSigningKey(p, dev);
    const again = await p.app.inject({ method: 'POST', url: '/v1/signing-keys', headers: dev.auth, payload: { name: 'again', public_key: key.publicKeyBase64 } });
    expectProblem(again, 409, 'signing_key_exists');
  });
});

// SQLite alone: parsing a key and the owner's filter on plain reads are the same on both.
describeOnSqlite('signing keys', (portal) => {
  it('registers an Ed25519 key given as raw base64 or PEM, with its fingerprint', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const key = await registerSigningKey(p, dev);
    expect(key.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const { createPublicKey, generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const res = await p.app.inject({ method: 'POST', url: '/v1/signing-keys', headers: dev.auth, payload: { name: 'ci', public_key: pem } });
    expect(res.statusCode, res.body).toBe(201);
    expect(createPublicKey(pem).asymmetricKeyType).toBe('ed25519');
    const list = (await p.app.inject({ method: 'GET', url: '/v1/signing-keys', headers: dev.auth })).json();
    expect(list.items.map((k: { name: string }) => k.name).sort()).toEqual(['ci', 'laptop']);
  });

  it("never lets one developer list or revoke another's keys", async () => {
    const p = portal();
    const a = await registerUser(p, 'A');
    const b = await registerUser(p, 'B');
    const key = await registerSigningKey(p, a);
    expect((await p.app.inject({ method: 'GET', url: '/v1/signing-keys', headers: b.auth })).json().items).toEqual([]);
    expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/signing-keys/${key.id}`, headers: b.auth }), 404, 'signing_key_not_found');
    const row = await p.database.db.selectFrom('signing_keys').select('revoked_at').executeTakeFirstOrThrow();
    expect(row.revoked_at).toBeNull();
  });
});
