import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { ZipFile } from 'yazl';
import { fingerprint } from './keys.js';

/**
 * Packages for the unit tests of this folder, built in a temporary directory: an honest signed
 * package through yazl, and hand-made archives (`rawZip`) for the structures no ZIP library
 * writes on purpose. Independent of build.ts so the checks are tested against their own reading
 * of PACKAGE.md.
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

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer;
  /** 0 STORED, 8 DEFLATE (default). */
  method?: number;
  /** Bytes after the local header instead of the compressed `data`. */
  compressed?: Buffer;
  flags?: number;
  crc32?: number;
  /** Declared uncompressed size (central directory and local header). */
  size?: number;
  versionMadeBy?: number;
  externalAttributes?: number;
  /** Name written in the local header instead. */
  localName?: string;
  /** Make the central record point at the local header of an earlier entry. */
  sameDataAs?: number;
  /** Extra field of the central directory record. */
  extra?: Buffer;
}

export interface RawZipOptions {
  before?: Buffer;
  after?: Buffer;
  comment?: Buffer;
  /** Bytes between the first entry and the next. */
  gap?: Buffer;
  /** Entry count written in the end record instead of the real one. */
  declaredEntries?: number;
  /** Adds a ZIP64 end record and locator. */
  zip64?: boolean;
  diskNumber?: number;
}

/** Writes an archive byte by byte; offsets count `before`, as `zip -A` leaves a self-extractor. */
export function rawZip(entries: readonly RawEntry[], options: RawZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (buffer: Buffer) => {
    parts.push(buffer);
    offset += buffer.length;
  };
  if (options.before !== undefined) push(options.before);
  const written: { offset: number; crc: number; compressedSize: number; size: number; method: number }[] = [];
  entries.forEach((entry, index) => {
    const shared = entry.sameDataAs === undefined ? undefined : written[entry.sameDataAs];
    if (shared !== undefined) {
      written.push(shared);
      return;
    }
    const data = entry.data ?? Buffer.alloc(0);
    const method = entry.method ?? 8;
    const payload = entry.compressed ?? (method === 8 ? deflateRawSync(data) : data);
    const record = { offset, crc: entry.crc32 ?? crc32(data), compressedSize: payload.length, size: entry.size ?? data.length, method };
    written.push(record);
    const name = Buffer.from(entry.localName ?? entry.name);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE((entry.flags ?? 0) | 0x800, 6);
    header.writeUInt16LE(method, 8);
    header.writeUInt32LE(record.crc >>> 0, 14);
    header.writeUInt32LE(record.compressedSize, 18);
    header.writeUInt32LE(record.size, 22);
    header.writeUInt16LE(name.length, 26);
    push(Buffer.concat([header, name, payload]));
    if (index === 0 && options.gap !== undefined) push(options.gap);
  });
  const centralStart = offset;
  entries.forEach((entry, index) => {
    const record = written[index];
    if (record === undefined) throw new Error('no local record');
    const name = Buffer.from(entry.name);
    const extra = entry.extra ?? Buffer.alloc(0);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(entry.versionMadeBy ?? (3 << 8) | 20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE((entry.flags ?? 0) | 0x800, 8);
    header.writeUInt16LE(record.method, 10);
    header.writeUInt32LE(record.crc >>> 0, 16);
    header.writeUInt32LE(record.compressedSize, 20);
    header.writeUInt32LE(record.size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    header.writeUInt32LE(entry.externalAttributes ?? (0o100644 << 16) >>> 0, 38);
    header.writeUInt32LE(record.offset, 42);
    push(Buffer.concat([header, name, extra]));
  });
  const centralSize = offset - centralStart;
  const count = options.declaredEntries ?? entries.length;
  if (options.zip64 === true) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(centralSize), 40);
    record.writeBigUInt64LE(BigInt(centralStart), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset), 8);
    locator.writeUInt32LE(1, 16);
    push(Buffer.concat([record, locator]));
  }
  const comment = options.comment ?? Buffer.alloc(0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.diskNumber ?? 0, 4);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralStart, 16);
  end.writeUInt16LE(comment.length, 20);
  push(Buffer.concat([end, comment]));
  if (options.after !== undefined) push(options.after);
  return Buffer.concat(parts);
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
