import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sampleApp } from '../cli/sample-app.js';
import { BuildError, buildPackage, signatureManifest, signManifest } from './build.js';
import { fingerprint } from './keys.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mosis-build-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(root, ...file.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

async function sampleFolder(name = 'app'): Promise<string> {
  const folder = path.join(dir, name);
  await writeTree(folder, Object.fromEntries(sampleApp({ id: 'com.example.sample', name: 'Sample' }).map((file) => [file.path, file.data])));
  return folder;
}

/** Every entry of a ZIP with its inflated bytes, read with yauzl (independently of the checker). */
async function readZip(file: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const entries = new Map<string, Buffer>();
  return new Promise((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error !== null) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', reject);
        stream.on('end', () => {
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
}

describe('buildPackage', () => {
  test('writes manifest.json first, the other files sorted, then a MANIFEST.MF and CERT.SIG that verify', async () => {
    const folder = await sampleFolder();
    const out = path.join(dir, 'sample.mosis');
    const result = await buildPackage(folder, { privateKey, out, createdBy: 'mosis-cli 9.9.9' });

    const entries = await readZip(out);
    const names = [...entries.keys()];
    expect(names).toEqual([
      'manifest.json',
      'assets/main.rml',
      'assets/scripts/app.lua',
      'assets/styles/theme.rcss',
      'icons/icon-128.png',
      'icons/icon-32.png',
      'icons/icon-64.png',
      'META-INF/MANIFEST.MF',
      'META-INF/CERT.SIG',
    ]);

    const listed = names.slice(0, -2);
    const expectedManifest =
      'Manifest-Version: 1.0\nCreated-By: mosis-cli 9.9.9\n' +
      listed
        .map((name) => {
          const data = entries.get(name) ?? Buffer.alloc(0);
          return `\nName: ${name}\nSHA-256-Digest: ${createHash('sha256').update(data).digest('base64')}\n`;
        })
        .join('');
    const manifestBytes = entries.get('META-INF/MANIFEST.MF') ?? Buffer.alloc(0);
    expect(manifestBytes.toString('utf8')).toBe(expectedManifest);

    const certificate = JSON.parse((entries.get('META-INF/CERT.SIG') ?? Buffer.alloc(0)).toString('utf8')) as Record<string, string>;
    expect(certificate.alg).toBe('Ed25519');
    expect(certificate.key_id).toBe(fingerprint(publicKey));
    expect(verify(null, manifestBytes, publicKey, Buffer.from(certificate.signature ?? '', 'base64'))).toBe(true);

    const packageBytes = await readFile(out);
    expect(result).toMatchObject({ file: out, size: packageBytes.length, sha256: sha256(packageBytes), id: 'com.example.sample', version: '1.0.0', keyId: fingerprint(publicKey) });
    expect(result.files.map((file) => file.path)).toEqual(names);
    for (const file of result.files) {
      const data = entries.get(file.path) ?? Buffer.alloc(0);
      expect(file).toEqual({ path: file.path, size: data.length, sha256: sha256(data) });
    }
  });

  test('leaves out .mosisignore matches, dotfiles, META-INF/, earlier packages and the output file', async () => {
    const folder = await sampleFolder();
    await writeTree(folder, {
      '.mosisignore': '# build leftovers\nbuild/\n*.md\n!KEEP.md\n',
      '.git/config': '[core]',
      '.env': 'SECRET=1',
      'assets/.DS_Store': 'junk',
      'META-INF/MANIFEST.MF': 'stale',
      'build/output.txt': 'ignored folder',
      'notes.md': 'ignored by pattern',
      'KEEP.md': 'kept by negation',
      'old-1.0.0.mosis': 'previous build',
      'assets/data/level1.txt': 'level one',
    });
    const out = path.join(folder, 'inside.mosis');
    await buildPackage(folder, { privateKey, out });

    const names = [...(await readZip(out)).keys()];
    expect(names).toContain('KEEP.md');
    expect(names).toContain('assets/data/level1.txt');
    for (const left of ['.mosisignore', '.git/config', '.env', 'assets/.DS_Store', 'build/output.txt', 'notes.md', 'old-1.0.0.mosis', 'inside.mosis']) {
      expect(names).not.toContain(left);
    }
    expect(names.filter((name) => name.startsWith('META-INF/'))).toEqual(['META-INF/MANIFEST.MF', 'META-INF/CERT.SIG']);
    // The stale META-INF/MANIFEST.MF of the folder is not the one in the package.
    expect((await readZip(out)).get('META-INF/MANIFEST.MF')?.toString('utf8')).toMatch(/^Manifest-Version: 1\.0\n/);
  });

  test('the same sources and key give a byte-identical package', async () => {
    const folder = await sampleFolder();
    const first = await buildPackage(folder, { privateKey, out: path.join(dir, 'first.mosis') });
    const second = await buildPackage(folder, { privateKey, out: path.join(dir, 'second.mosis') });
    expect(second.sha256).toBe(first.sha256);
  });

  test('streams files larger than one read chunk and digests every byte', async () => {
    const folder = await sampleFolder();
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await writeTree(folder, { 'assets/media/big.bin': big });
    const result = await buildPackage(folder, { privateKey, out: path.join(dir, 'big.mosis') });

    const entries = await readZip(result.file);
    expect(entries.get('assets/media/big.bin')?.equals(big)).toBe(true);
    expect(result.files.find((file) => file.path === 'assets/media/big.bin')).toEqual({ path: 'assets/media/big.bin', size: big.length, sha256: sha256(big) });
    expect(entries.get('META-INF/MANIFEST.MF')?.toString('utf8')).toContain(`Name: assets/media/big.bin\nSHA-256-Digest: ${createHash('sha256').update(big).digest('base64')}\n`);
  });

  test('replaces an existing output atomically and leaves no temporary file', async () => {
    const folder = await sampleFolder();
    const out = path.join(dir, 'app.mosis');
    await writeFile(out, 'an older package');
    await buildPackage(folder, { privateKey, out });
    expect((await readFile(out)).subarray(0, 2).toString('latin1')).toBe('PK');
    expect((await readdir(dir)).sort()).toEqual(['app', 'app.mosis']);
  });

  test('refuses a symbolic link instead of following it out of the app folder', async () => {
    const folder = await sampleFolder();
    await symlink('/etc/passwd', path.join(folder, 'assets', 'passwd'));
    const out = path.join(dir, 'link.mosis');
    await expect(buildPackage(folder, { privateKey, out })).rejects.toThrow(/assets\/passwd is a symbolic link/);
    expect(await readdir(dir)).toEqual(['app']);
  });

  test('a symbolic link named in .mosisignore is skipped', async () => {
    const folder = await sampleFolder();
    await symlink('/etc/passwd', path.join(folder, 'passwd'));
    await writeFile(path.join(folder, '.mosisignore'), 'passwd\n');
    const result = await buildPackage(folder, { privateKey, out: path.join(dir, 'ok.mosis') });
    expect(result.files.map((file) => file.path)).not.toContain('passwd');
  });

  test.each([
    ['a missing folder', () => Promise.resolve(path.join(dir, 'nope')), /no such folder/],
    ['a file instead of a folder', async () => { await writeFile(path.join(dir, 'file'), 'x'); return path.join(dir, 'file'); }, /not a folder/],
    ['a folder without manifest.json', async () => { await mkdir(path.join(dir, 'empty')); return path.join(dir, 'empty'); }, /no manifest\.json/],
    ['a manifest.json that is not JSON', async () => { const folder = await sampleFolder(); await writeFile(path.join(folder, 'manifest.json'), '{ nope'); return folder; }, /manifest\.json is not valid JSON/],
    ['a manifest without id and version', async () => { const folder = await sampleFolder(); await writeFile(path.join(folder, 'manifest.json'), '{"name":"x"}'); return folder; }, /needs string "id" and "version"/],
    ['a file name with a control character', async () => { const folder = await sampleFolder(); await writeFile(path.join(folder, 'bad\u0001name.txt'), 'x'); return folder; }, /control character/],
  ])('fails with a BuildError for %s', async (_case, makeFolder, message) => {
    const folder = await makeFolder();
    const attempt = buildPackage(folder, { privateKey, out: path.join(dir, 'out.mosis') });
    await expect(attempt).rejects.toBeInstanceOf(BuildError);
    await expect(attempt).rejects.toThrow(message);
  });

  test('refuses an output path whose folder does not exist', async () => {
    const folder = await sampleFolder();
    await expect(buildPackage(folder, { privateKey, out: path.join(dir, 'missing', 'app.mosis') })).rejects.toThrow(/cannot write .*: no folder/);
  });

  test('refuses a key that is not an Ed25519 private key', async () => {
    const folder = await sampleFolder();
    const x25519 = generateKeyPairSync('x25519').privateKey;
    await expect(buildPackage(folder, { privateKey: x25519, out: path.join(dir, 'a.mosis') })).rejects.toThrow(/Ed25519 private key/);
    await expect(buildPackage(folder, { privateKey: publicKey, out: path.join(dir, 'b.mosis') })).rejects.toThrow(/Ed25519 private key/);
  });
});

describe('signatureManifest and signManifest', () => {
  test('write the exact MANIFEST.MF text of PACKAGE.md and an Ed25519 signature of it', () => {
    const data = Buffer.from('{}');
    const manifest = signatureManifest([{ path: 'manifest.json', sha256: sha256(data) }], 'mosis-cli 1.0.0');
    const digest = createHash('sha256').update(data).digest('base64');
    expect(manifest.toString('utf8')).toBe(`Manifest-Version: 1.0\nCreated-By: mosis-cli 1.0.0\n\nName: manifest.json\nSHA-256-Digest: ${digest}\n`);

    const certificate = JSON.parse(signManifest(manifest, privateKey).toString('utf8')) as Record<string, string>;
    expect(Object.keys(certificate)).toEqual(['alg', 'key_id', 'signature']);
    expect(certificate.key_id).toBe(fingerprint(createPublicKey(privateKey)));
    expect(Buffer.from(certificate.signature ?? '', 'base64')).toHaveLength(64);
    expect(verify(null, manifest, publicKey, Buffer.from(certificate.signature ?? '', 'base64'))).toBe(true);
  });

  test('refuse names that would break the line-based format', () => {
    expect(() => signatureManifest([{ path: 'a\nName: b', sha256: sha256(Buffer.alloc(0)) }])).toThrow(BuildError);
  });
});
