import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { PackageCheckResult } from '../package/index.js';
import { rawPublicKey } from '../package/keys.js';
import { cliScratch } from './test-support.js';

// The `mosis` binary from a new app to a validated package (test-support.ts runs it). The
// verdicts on crafted packages and the usage errors are files of their own, so the three run side by side.

const { paths, mosis } = cliScratch();

describe('mosis init → keys generate → build → validate', () => {
  let packageFile: string;
  let keysOutput: string;

  beforeAll(async () => {
    const init = await mosis(['init', 'notes', '--id', 'com.example.notes', '--name', 'Notes']);
    expect(init, init.stderr).toMatchObject({ code: 0 });
    const keys = await mosis(['keys', 'generate']);
    expect(keys, keys.stderr).toMatchObject({ code: 0 });
    keysOutput = keys.stdout;
    const build = await mosis(['build', 'notes']);
    expect(build, build.stderr + build.stdout).toMatchObject({ code: 0 });
    packageFile = path.join(paths.scratch, 'com.example.notes-1.0.0.mosis');
  }, 60_000);

  test('init scaffolds the sample app with icons of the declared sizes', async () => {
    const files = await readdir(path.join(paths.scratch, 'notes'), { recursive: true });
    expect(files.filter((file) => !['assets', 'icons', 'assets/styles', 'assets/scripts'].includes(file)).sort()).toEqual([
      'assets/main.rml',
      'assets/scripts/app.lua',
      'assets/styles/theme.rcss',
      'icons/icon-128.png',
      'icons/icon-32.png',
      'icons/icon-64.png',
      'manifest.json',
    ]);
    for (const size of [32, 64, 128]) {
      const png = await readFile(path.join(paths.scratch, 'notes', 'icons', `icon-${size}.png`));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
    }
    const manifest = JSON.parse(await readFile(path.join(paths.scratch, 'notes', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ id: 'com.example.notes', name: 'Notes', version: '1.0.0', version_code: 1 });
  });

  test('keys generate writes a private key only its owner can read and prints what to register', async () => {
    const privateKey = path.join(paths.home, 'signing_key.pem');
    expect((await stat(privateKey)).mode & 0o777).toBe(0o600);
    expect(await readFile(privateKey, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(path.join(paths.home, 'signing_key.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(keysOutput).toMatch(/Fingerprint: [0-9a-f]{64}\n/);
    expect(keysOutput).toMatch(/`mosis keys register` \(or paste [A-Za-z0-9+/]{43}= on the signing keys page\)\n/);
  });

  test('keys generate refuses to replace the key pair without --force', async () => {
    const before = await readFile(path.join(paths.home, 'signing_key.pem'), 'utf8');
    const again = await mosis(['keys', 'generate']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/signing_key\.pem already exists; pass --force/);
    expect(await readFile(path.join(paths.home, 'signing_key.pem'), 'utf8')).toBe(before);
  });

  test('keys generate --out writes elsewhere, and --force replaces the pair', async () => {
    const elsewhere = path.join(paths.scratch, 'other-keys');
    const first = await mosis(['keys', 'generate', '--out', elsewhere]);
    expect(first.code).toBe(0);
    const replaced = await mosis(['keys', 'generate', '--out', elsewhere, '--force']);
    expect(replaced.code).toBe(0);
    const fingerprintOf = (output: string): string | undefined => /Fingerprint: ([0-9a-f]{64})/.exec(output)?.[1];
    expect(fingerprintOf(replaced.stdout)).not.toBe(fingerprintOf(first.stdout));
    expect((await stat(path.join(elsewhere, 'signing_key.pem'))).mode & 0o777).toBe(0o600);
  });

  test('the built package passes validate with no error', async () => {
    const run = await mosis(['validate', packageFile]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^OK: 0 errors/m);
  });

  test('validate --json prints the check result: ok, no error finding, the manifest and every file', async () => {
    const run = await mosis(['validate', packageFile, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as PackageCheckResult;
    expect(result.ok).toBe(true);
    expect(result.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(result.manifest?.id).toBe('com.example.notes');
    expect(result.files.map((file) => file.path)).toContain('META-INF/CERT.SIG');
  });

  test('validate accepts the key given as base64 of the raw public key', async () => {
    const base64 = /or paste (\S+) on the signing keys page/.exec(keysOutput)?.[1] ?? '';
    const run = await mosis(['validate', packageFile, '--key', base64]);
    expect(run.code).toBe(0);
  });

  test('validate with a different --key fails with signature_key_not_allowed and exit code 1', async () => {
    const stranger = generateKeyPairSync('ed25519').publicKey;
    const pemFile = path.join(paths.scratch, 'stranger.pub');
    await writeFile(pemFile, stranger.export({ format: 'pem', type: 'spki' }));

    const text = await mosis(['validate', packageFile, '--key', pemFile]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^error\s+T1\s+signature_key_not_allowed\s/m);

    const json = await mosis(['validate', packageFile, '--key', rawPublicKey(stranger).toString('base64'), '--json']);
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout) as PackageCheckResult;
    expect(result.ok).toBe(false);
    expect(result.findings.map((finding) => finding.code)).toContain('signature_key_not_allowed');
  });

  test('inspect shows the manifest, permissions, files with sizes and the signer', async () => {
    const run = await mosis(['inspect', packageFile]);
    expect(run.code).toBe(0);
    const fingerprint = /Fingerprint: ([0-9a-f]{64})/.exec(keysOutput)?.[1];
    expect(run.stdout).toContain('App:      Notes (com.example.notes)');
    expect(run.stdout).toContain('Version:  1.0.0 (version code 1)');
    expect(run.stdout).toContain('Permissions: none');
    expect(run.stdout).toContain(`Signer:   ${fingerprint}`);
    expect(run.stdout).toMatch(/^\s+\d+(\.\d)? (B|KiB)\s+assets\/scripts\/app\.lua$/m);
    expect(run.stdout).toMatch(/^\s+\d+(\.\d)? (B|KiB)\s+META-INF\/CERT\.SIG$/m);
  });

  test('build writes to --out and a tampered copy then fails validate', async () => {
    const out = path.join(paths.scratch, 'custom.mosis');
    const build = await mosis(['build', 'notes', '--out', out]);
    expect(build.code).toBe(0);
    const bytes = await readFile(out);
    // Bytes after the end record: the archive no longer ends where it says it does.
    const tampered = Buffer.concat([bytes, Buffer.from('trailing')]);
    await writeFile(path.join(paths.scratch, 'tampered.mosis'), tampered);
    const run = await mosis(['validate', 'tampered.mosis']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^error\s+T1\s+zip_/m);
  });
});
