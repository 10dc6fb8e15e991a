import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PackageCheckResult } from '../package/index.js';
import { rawPublicKey } from '../package/keys.js';
import { appFiles, keyPair, manifestJson, signed, yazlZip, type KeyPair } from '../package/test-support.js';

/**
 * Runs the real `mosis` binary, the compiled dist/cli/main.js that the global setup (build-dist.ts)
 * builds once per run, in a scratch folder, with MOSIS_HOME kept inside it.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mainScript = path.join(repoRoot, 'dist/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let scratch: string;
let home: string;

function mosis(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainScript, ...args],
      { cwd: options.cwd ?? scratch, env: { ...process.env, MOSIS_HOME: home, ...options.env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mosis-cli-'));
  home = path.join(scratch, 'home');
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

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
    packageFile = path.join(scratch, 'com.example.notes-1.0.0.mosis');
  }, 60_000);

  test('init scaffolds the sample app with icons of the declared sizes', async () => {
    const files = await readdir(path.join(scratch, 'notes'), { recursive: true });
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
      const png = await readFile(path.join(scratch, 'notes', 'icons', `icon-${size}.png`));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
    }
    const manifest = JSON.parse(await readFile(path.join(scratch, 'notes', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ id: 'com.example.notes', name: 'Notes', version: '1.0.0', version_code: 1 });
  });

  test('keys generate writes a private key only its owner can read and prints what to register', async () => {
    const privateKey = path.join(home, 'signing_key.pem');
    expect((await stat(privateKey)).mode & 0o777).toBe(0o600);
    expect(await readFile(privateKey, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(path.join(home, 'signing_key.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(keysOutput).toMatch(/Fingerprint: [0-9a-f]{64}\n/);
    expect(keysOutput).toMatch(/Register this public key in the portal: [A-Za-z0-9+/]{43}=\n/);
  });

  test('keys generate refuses to replace the key pair without --force', async () => {
    const before = await readFile(path.join(home, 'signing_key.pem'), 'utf8');
    const again = await mosis(['keys', 'generate']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/signing_key\.pem already exists; pass --force/);
    expect(await readFile(path.join(home, 'signing_key.pem'), 'utf8')).toBe(before);
  });

  test('keys generate --out writes elsewhere, and --force replaces the pair', async () => {
    const elsewhere = path.join(scratch, 'other-keys');
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
    const base64 = /Register this public key in the portal: (\S+)/.exec(keysOutput)?.[1] ?? '';
    const run = await mosis(['validate', packageFile, '--key', base64]);
    expect(run.code).toBe(0);
  });

  test('validate with a different --key fails with signature_key_not_allowed and exit code 1', async () => {
    const stranger = generateKeyPairSync('ed25519').publicKey;
    const pemFile = path.join(scratch, 'stranger.pub');
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
    const out = path.join(scratch, 'custom.mosis');
    const build = await mosis(['build', 'notes', '--out', out]);
    expect(build.code).toBe(0);
    const bytes = await readFile(out);
    // Bytes after the end record: the archive no longer ends where it says it does.
    const tampered = Buffer.concat([bytes, Buffer.from('trailing')]);
    await writeFile(path.join(scratch, 'tampered.mosis'), tampered);
    const run = await mosis(['validate', 'tampered.mosis']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^error\s+T1\s+zip_/m);
  });
});

describe('crafted packages end in a verdict, exit code 1', () => {
  let key: string;
  const signedPackage = async (name: string, changes: Record<string, string>): Promise<string> => {
    const file = path.join(scratch, `${name}.mosis`);
    await writeFile(file, await yazlZip(signed(appFiles(changes), keys)));
    return file;
  };
  let keys: KeyPair;
  beforeAll(() => {
    keys = keyPair();
    key = rawPublicKey(keys.publicKey).toString('base64');
  });

  test('a manifest.json nesting 10 000 arrays deep is a finding, not a crash', async () => {
    const manifest = JSON.stringify(manifestJson());
    const file = await signedPackage('deep-manifest', { 'manifest.json': `{"x-deep": ${'['.repeat(10_000)}${']'.repeat(10_000)}, ${manifest.slice(1)}` });
    const text = await mosis(['validate', file, '--key', key]);
    expect(text, text.stderr).toMatchObject({ code: 1, stderr: '' });
    expect(text.stdout).toMatch(/^error\s+T1\s+manifest_invalid\s.*nested more than 64 deep/m);
    const json = await mosis(['validate', file, '--key', key, '--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as PackageCheckResult).findings.map((finding) => finding.code)).toEqual(['manifest_invalid']);
  });

  test('checks that run over the time budget end with check_budget_exceeded', async () => {
    const lua = Array.from({ length: 20_000 }, (_, i) => `local v${i} = { name = "item ${i}", size = ${i} * 2 }`).join('\n');
    const file = await signedPackage('heavy', { 'assets/scripts/heavy.lua': lua });
    const over = await mosis(['validate', file, '--key', key], { env: { PACKAGE_CHECK_TIMEOUT_MS: '100' } });
    expect(over, over.stderr).toMatchObject({ code: 1, stderr: '' });
    expect(over.stdout).toMatch(/^error\s+T2\s+check_budget_exceeded\s.*longer than 0\.1 seconds/m);
    // Within the default budget the same package is fine.
    expect((await mosis(['validate', file, '--key', key])).code).toBe(0);
  });

  test('a budget that is not a number is a usage error', async () => {
    const run = await mosis(['validate', await signedPackage('clean', {}), '--key', key], { env: { PACKAGE_CHECK_TIMEOUT_MS: 'soon' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('mosis: PACKAGE_CHECK_TIMEOUT_MS must be a whole number above 0, got "soon"');
  });
});

describe('clear one-line errors, exit code 2', () => {
  test('build without a signing key names the missing file and the fix', async () => {
    const emptyHome = path.join(scratch, 'no-keys-home');
    const init = await mosis(['init', 'keyless']);
    expect(init.code).toBe(0);
    const run = await mosis(['build', 'keyless'], { env: { MOSIS_HOME: emptyHome } });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`mosis: no signing key at ${path.join(emptyHome, 'signing_key.pem')}; run \`mosis keys generate\`\n`);
  });

  test('init refuses a folder that is not empty', async () => {
    await mkdir(path.join(scratch, 'busy'));
    await writeFile(path.join(scratch, 'busy', 'keep.txt'), 'mine');
    const run = await mosis(['init', 'busy']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('mosis: busy is not empty; run `mosis init` with a new or empty folder\n');
    expect(await readdir(path.join(scratch, 'busy'))).toEqual(['keep.txt']);
  });

  test('init refuses an id the portal would refuse', async () => {
    const run = await mosis(['init', 'badid', '--id', 'Not An Id']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mosis: cannot create the app: .+\n$/);
  });

  test('build of a missing folder', async () => {
    const run = await mosis(['build', 'does-not-exist']);
    expect(run).toMatchObject({ code: 2, stderr: 'mosis: no such folder: does-not-exist\n' });
  });

  test('build with a bad manifest', async () => {
    await mosis(['init', 'broken', '--id', 'com.example.broken']);
    const manifestFile = path.join(scratch, 'broken', 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    await writeFile(manifestFile, JSON.stringify({ ...manifest, version_code: 0 }));
    const run = await mosis(['build', 'broken']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mosis: .*manifest\.json is invalid: .+\n$/);

    await writeFile(manifestFile, '{ not json');
    const notJson = await mosis(['build', 'broken']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^mosis: .*manifest\.json is not valid JSON: .+\n$/);
  });

  test('validate and inspect of an unreadable file', async () => {
    const validate = await mosis(['validate', 'missing.mosis']);
    expect(validate).toMatchObject({ code: 2, stderr: 'mosis: cannot read missing.mosis: no such file\n' });
    const inspect = await mosis(['inspect', scratch]);
    expect(inspect).toMatchObject({ code: 2, stderr: `mosis: cannot read ${scratch}: not a file\n` });
  });

  test('an unknown verb is a usage error', async () => {
    const run = await mosis(['publish-everything']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown command/);
  });
});
