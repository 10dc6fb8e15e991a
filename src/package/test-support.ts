import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PNG } from 'pngjs';
import { ZipFile } from 'yazl';
import { fingerprint } from './keys.js';

/**
 * Packages for the unit tests of this folder, built in a temporary directory: an honest signed
 * package through yazl. Hand-made archives, for the structures no ZIP library writes on purpose,
 * come from the tests' one raw writer, test/support/raw-zip.ts. Independent of build.ts so the
 * checks are tested against their own reading of PACKAGE.md.
 */

export interface FixtureFile {
  path: string;
  data: Buffer;
}

export const APP_ID = 'com.example.fixture';

export function png(width: number, height: number): Buffer {
  return PNG.sync.write(new PNG({ width, height }));
}

export function manifestJson(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const manifest: Record<string, unknown> = {
    id: APP_ID,
    name: 'Fixture',
    version: '1.0.0',
    version_code: 1,
    entry: 'assets/main.rml',
    min_mosis_version: '1.0.0',
    permissions: [],
    author: { name: 'Dev', email: 'dev@example.com' },
    icons: { '32': 'icons/icon-32.png', '64': 'icons/icon-64.png', '128': 'icons/icon-128.png' },
  };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete manifest[key];
    else manifest[key] = value;
  }
  return manifest;
}

/** A small app that passes every check without a finding; `changes` replace (or, with null, remove) files. */
export function appFiles(changes: Record<string, string | Buffer | null> = {}, manifest: Record<string, unknown> = {}): FixtureFile[] {
  const files = new Map<string, Buffer>([
    ['manifest.json', Buffer.from(JSON.stringify(manifestJson(manifest), null, 2))],
    ['assets/main.rml', Buffer.from('<rml>\n<head><link type="text/rcss" href="styles/app.rcss"/></head>\n<body><button onclick="App.press()">Go</button></body>\n</rml>\n')],
    ['assets/styles/app.rcss', Buffer.from('body { color: #fff; }\nbutton { decorator: image(icons/icon-32.png); }\n')],
    ['assets/scripts/app.lua', Buffer.from('App = App or {}\nlocal count = 0\nfunction App.press()\n  count = count + 1\nend\n')],
    ['icons/icon-32.png', png(32, 32)],
    ['icons/icon-64.png', png(64, 64)],
    ['icons/icon-128.png', png(128, 128)],
  ]);
  for (const [path, data] of Object.entries(changes)) {
    if (data === null) files.delete(path);
    else files.set(path, typeof data === 'string' ? Buffer.from(data) : data);
  }
  return [...files].map(([path, data]) => ({ path, data }));
}

export function signatureManifestText(files: readonly FixtureFile[]): string {
  const blocks = files.map((file) => `\nName: ${file.path}\nSHA-256-Digest: ${createHash('sha256').update(file.data).digest('base64')}\n`);
  return `Manifest-Version: 1.0\nCreated-By: fixtures\n${blocks.join('')}`;
}

export function certificate(manifest: Buffer, privateKey: KeyObject, publicKey: KeyObject): Buffer {
  const signature = sign(null, manifest, privateKey).toString('base64');
  return Buffer.from(JSON.stringify({ alg: 'Ed25519', key_id: fingerprint(publicKey), signature }));
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function keyPair(): KeyPair {
  return generateKeyPairSync('ed25519');
}

/** `files` followed by the MANIFEST.MF listing them and a CERT.SIG signed with `keys`. */
export function signed(files: readonly FixtureFile[], keys: KeyPair): FixtureFile[] {
  const manifest = Buffer.from(signatureManifestText(files));
  return [...files, { path: 'META-INF/MANIFEST.MF', data: manifest }, { path: 'META-INF/CERT.SIG', data: certificate(manifest, keys.privateKey, keys.publicKey) }];
}

/** A ZIP written by yazl; `streamed` entries use data descriptors, as `zip` on a pipe would. */
export async function yazlZip(files: readonly FixtureFile[], options: { streamed?: boolean } = {}): Promise<Buffer> {
  const zip = new ZipFile();
  for (const file of files) {
    if (options.streamed === true) zip.addReadStream(Readable.from([file.data]), file.path, { mtime: new Date(2000, 0, 1) });
    else zip.addBuffer(file.data, file.path, { mtime: new Date(2000, 0, 1) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A temporary folder for package files, removed by `cleanup`. */
export class Workbench {
  private count = 0;
  private constructor(readonly dir: string) {}

  static async create(): Promise<Workbench> {
    return new Workbench(await mkdtemp(join(tmpdir(), 'mosis-package-')));
  }

  async file(bytes: Buffer): Promise<string> {
    this.count += 1;
    const path = join(this.dir, `${this.count}.mosis`);
    await writeFile(path, bytes);
    return path;
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
