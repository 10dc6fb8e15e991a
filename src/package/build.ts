import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type PassThrough, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ignore from 'ignore';
import { ZipFile } from 'yazl';
import type { PackageFile } from './findings.js';
import { fingerprint } from './keys.js';

/**
 * Turns an app folder into a signed `.mosis` file (see PACKAGE.md). Pure library: no console
 * output, every failure is a BuildError the caller can show as one line.
 */

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

export interface BuildOptions {
  /** The developer's Ed25519 private key. */
  privateKey: KeyObject;
  /** Path of the `.mosis` file to write (replaced atomically). */
  out: string;
  /** Value of the `Created-By` header of MANIFEST.MF, e.g. `mosis-cli 1.0.0`. */
  createdBy?: string;
}

export interface BuildResult {
  /** Absolute path of the written package. */
  file: string;
  /** Size in bytes of the package file. */
  size: number;
  /** Lowercase hex SHA-256 of the package file. */
  sha256: string;
  id: string;
  version: string;
  /** Fingerprint of the signing key, as written to CERT.SIG. */
  keyId: string;
  /** Every entry of the archive (META-INF files last), in archive order. */
  files: PackageFile[];
}

/** An entry listed in MANIFEST.MF. */
export interface SignedEntry {
  path: string;
  /** Lowercase hex SHA-256 of the entry's bytes. */
  sha256: string;
}

const MANIFEST_JSON = 'manifest.json';
const SIGNATURE_MANIFEST = 'META-INF/MANIFEST.MF';
const SIGNATURE = 'META-INF/CERT.SIG';
const IGNORE_FILE = '.mosisignore';
// A package never contains a package: this keeps earlier build outputs out of the next build.
const ALWAYS_IGNORED = ['*.mosis'];
const DEFAULT_CREATED_BY = 'mosis-cli';
// A fixed timestamp and mode make builds reproducible: same sources and key, same bytes.
const ENTRY_OPTIONS = { mtime: new Date(2000, 0, 1), mode: 0o100644, forceDosTimestamp: true, compress: true };
const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Builds and signs the package of the app in `folder`. */
export async function buildPackage(folder: string, options: BuildOptions): Promise<BuildResult> {
  const root = path.resolve(folder);
  await assertFolder(root, folder);
  assertSigningKey(options.privateKey);
  const { id, version } = await readManifestSummary(root);
  const out = path.resolve(options.out);
  const outFolder = await stat(path.dirname(out)).catch(() => null);
  if (outFolder === null || !outFolder.isDirectory()) throw new BuildError(`cannot write ${options.out}: no folder ${path.dirname(out)}`);
  const paths = await collectPackageFiles(root, { exclude: [out] });
  // A temporary name in the target folder makes the final rename atomic: readers never see half a package.
  const temporary = `${out}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const written = await writeArchive(root, paths, temporary, options.privateKey, options.createdBy ?? DEFAULT_CREATED_BY);
    await rename(temporary, out);
    return { file: out, size: written.size, sha256: written.sha256, id, version, keyId: written.keyId, files: written.files };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The package paths of the files in `root`, `manifest.json` first and the rest in code-point order
 * (so builds are reproducible). Leaves out dotfiles and dot-folders (`.git`, `.mosisignore`),
 * `META-INF/` (written by the build), `*.mosis`, the `exclude`d absolute paths and whatever
 * `.mosisignore` (gitignore syntax) names.
 */
export async function collectPackageFiles(root: string, options: { exclude?: readonly string[] } = {}): Promise<string[]> {
  const rules = ignore().add(ALWAYS_IGNORED).add(await readIgnoreFile(root));
  const excluded = new Set((options.exclude ?? []).map((file) => path.resolve(file)));
  const found: string[] = [];

  async function walk(directory: string, prefix: string): Promise<void> {
    const entries = await readdir(directory, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relative = prefix + entry.name;
      const absolute = path.join(directory, entry.name);
      if (excluded.has(absolute)) continue;
      if (entry.isDirectory()) {
        if (prefix === '' && entry.name.toUpperCase() === 'META-INF') continue;
        if (rules.ignores(`${relative}/`)) continue;
        await walk(absolute, `${relative}/`);
      } else if (entry.isFile()) {
        if (rules.ignores(relative)) continue;
        found.push(relative);
      } else if (!rules.ignores(relative)) {
        // Following a symlink could pull files from outside the app folder into a signed package.
        const kind = entry.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
        throw new BuildError(`${relative} is ${kind}; replace it with a real file or list it in ${IGNORE_FILE}`);
      }
    }
  }

  await walk(root, '');
  for (const file of found) {
    // MANIFEST.MF is line based, and the checks refuse such names anyway: fail before signing.
    if (hasControlCharacter(file)) throw new BuildError(`file name ${JSON.stringify(file)} contains a control character`);
  }
  const rest = found.filter((file) => file !== MANIFEST_JSON).sort(compareCodePoints);
  return found.includes(MANIFEST_JSON) ? [MANIFEST_JSON, ...rest] : rest;
}

/** The exact bytes of META-INF/MANIFEST.MF for `entries`, in the given (archive) order. */
export function signatureManifest(entries: readonly SignedEntry[], createdBy: string = DEFAULT_CREATED_BY): Buffer {
  const blocks = entries.map((entry) => {
    if (/[\r\n]/.test(entry.path)) throw new BuildError(`cannot list ${JSON.stringify(entry.path)} in MANIFEST.MF: it contains a line break`);
    if (!/^[0-9a-f]{64}$/.test(entry.sha256)) throw new BuildError(`${entry.path}: sha256 must be 64 lowercase hex digits`);
    return `\nName: ${entry.path}\nSHA-256-Digest: ${Buffer.from(entry.sha256, 'hex').toString('base64')}\n`;
  });
  return Buffer.from(`Manifest-Version: 1.0\nCreated-By: ${createdBy}\n${blocks.join('')}`, 'utf8');
}

/** The bytes of META-INF/CERT.SIG: an Ed25519 signature of the exact MANIFEST.MF bytes. */
export function signManifest(manifestBytes: Buffer, privateKey: KeyObject): Buffer {
  assertSigningKey(privateKey);
  const signature = sign(null, manifestBytes, privateKey);
  const keyId = fingerprint(createPublicKey(privateKey));
  return Buffer.from(JSON.stringify({ alg: 'Ed25519', key_id: keyId, signature: signature.toString('base64') }), 'utf8');
}

function assertSigningKey(key: KeyObject): void {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new BuildError(`the signing key must be an Ed25519 private key, got a ${key.type} ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
}

async function assertFolder(root: string, given: string): Promise<void> {
  const info = await stat(root).catch(() => null);
  if (info === null) throw new BuildError(`no such folder: ${given}`);
  if (!info.isDirectory()) throw new BuildError(`not a folder: ${given}`);
}

/** Reads just enough of manifest.json to name the build; full validation is the checker's job. */
async function readManifestSummary(root: string): Promise<{ id: string; version: string }> {
  const file = path.join(root, MANIFEST_JSON);
  const info = await lstat(file).catch(() => null);
  if (info === null || !info.isFile()) throw new BuildError(`no ${MANIFEST_JSON} in ${root}`);
  if (info.size > MAX_MANIFEST_BYTES) throw new BuildError(`${MANIFEST_JSON} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BuildError(`${MANIFEST_JSON} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BuildError(`${MANIFEST_JSON} must be a JSON object`);
  const { id, version } = json as Record<string, unknown>;
  if (typeof id !== 'string' || typeof version !== 'string') {
    throw new BuildError(`${MANIFEST_JSON} needs string "id" and "version" fields`);
  }
  return { id, version };
}

async function readIgnoreFile(root: string): Promise<string> {
  try {
    return await readFile(path.join(root, IGNORE_FILE), 'utf8');
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) return '';
    throw error;
  }
}

interface WrittenArchive {
  size: number;
  sha256: string;
  keyId: string;
  files: PackageFile[];
}

/**
 * Streams every file through a digest into yazl, then appends MANIFEST.MF and CERT.SIG. yazl asks
 * for each lazy stream only when the previous entry is fully written, so by the time it asks for
 * MANIFEST.MF every digest is known, and each digest is of the very bytes that went into the ZIP.
 */
async function writeArchive(root: string, paths: readonly string[], target: string, privateKey: KeyObject, createdBy: string): Promise<WrittenArchive> {
  const zip = new ZipFile();
  const files: PackageFile[] = [];
  let keyId = '';
  // yazl's outputStream is a PassThrough; destroying it on error ends the pipeline below instead of hanging it.
  const output = zip.outputStream as PassThrough;
  zip.on('error', (error: Error) => output.destroy(error));

  for (const relative of paths) {
    zip.addReadStreamLazy(relative, ENTRY_OPTIONS, (callback) => {
      const source = createReadStream(path.join(root, ...relative.split('/')));
      const digest = new DigestStream((size, sha256) => files.push({ path: relative, size, sha256 }));
      source.on('error', (error) => zip.emit('error', error));
      callback(null, source.pipe(digest));
    });
  }
  zip.addReadStreamLazy(SIGNATURE_MANIFEST, ENTRY_OPTIONS, (callback) => {
    // This runs inside yazl's pump: a throw here would escape every handler, so hand errors to yazl.
    try {
      const manifestBytes = signatureManifest(files, createdBy);
      const signatureBytes = signManifest(manifestBytes, privateKey);
      keyId = fingerprint(createPublicKey(privateKey));
      files.push(describe(SIGNATURE_MANIFEST, manifestBytes));
      // CERT.SIG is queued only now that its input exists; yazl keeps entries in the order they are added.
      zip.addBuffer(signatureBytes, SIGNATURE, ENTRY_OPTIONS);
      files.push(describe(SIGNATURE, signatureBytes));
      zip.end();
      callback(null, Readable.from([manifestBytes], { objectMode: false }));
    } catch (error) {
      callback(error, Readable.from([]));
    }
  });

  const fileDigest = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      fileDigest.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(output, counter, createWriteStream(target, { flags: 'wx' }));
  return { size, sha256: fileDigest.digest('hex'), keyId, files };
}

/** Passes bytes through unchanged and reports their count and SHA-256 when they end. */
class DigestStream extends Transform {
  readonly #hash = createHash('sha256');
  #size = 0;

  constructor(private readonly onDigest: (size: number, sha256: string) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.onDigest(this.#size, this.#hash.digest('hex'));
    done();
  }
}

function describe(entryPath: string, bytes: Buffer): PackageFile {
  return { path: entryPath, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
