import { verify, type KeyObject } from 'node:crypto';
import { finding, type Finding } from './findings.js';
import { fingerprint } from './keys.js';

/**
 * META-INF/MANIFEST.MF (the SHA-256 of every file) and META-INF/CERT.SIG (an Ed25519 signature of
 * the exact bytes of MANIFEST.MF), as PACKAGE.md defines them. Together they prove that every
 * file is the one the developer signed: nothing added, removed or changed after signing.
 */

export const SIGNATURE_MANIFEST_FILE = 'META-INF/MANIFEST.MF';
export const SIGNATURE_FILE = 'META-INF/CERT.SIG';

export interface SignatureManifestEntry {
  name: string;
  /** Base64 of the 32-byte SHA-256, exactly as written. */
  digest: string;
}

/** Thrown by parseSignatureManifest: what is wrong, and on which line (1-based). */
export class SignatureManifestError extends Error {
  override readonly name = 'SignatureManifestError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const HEADER_LINE = /^[A-Za-z0-9][A-Za-z0-9_-]*: /;
const DIGEST = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Parses MANIFEST.MF. Throws a SignatureManifestError (with the line) for anything that is not
 * exactly the format of PACKAGE.md: `\n` line ends, a header block starting with
 * `Manifest-Version: 1.0`, then blocks of `Name:` and `SHA-256-Digest:` separated by one empty
 * line, each name once, never the two META-INF signature files. Trailing empty lines are allowed.
 */
export function parseSignatureManifest(text: string): { entries: SignatureManifestEntry[] } {
  const carriageReturn = text.indexOf('\r');
  if (carriageReturn !== -1) {
    throw new SignatureManifestError('uses "\\r" line ends; MANIFEST.MF must use "\\n" only', lineAt(text, carriageReturn));
  }
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'Manifest-Version: 1.0') throw new SignatureManifestError('must start with the line "Manifest-Version: 1.0"', 1);

  let at = 1;
  for (; at < lines.length && lines[at] !== ''; at++) {
    const line = lines[at] ?? '';
    if (line.startsWith('Name:')) throw new SignatureManifestError('the header block must end with an empty line before the first "Name:"', at + 1);
    if (!HEADER_LINE.test(line)) throw new SignatureManifestError(`${JSON.stringify(line)} is not a "Key: value" header line`, at + 1);
  }

  const entries: SignatureManifestEntry[] = [];
  const seen = new Set<string>();
  while (at < lines.length) {
    // `at` is on the empty line that opens a block.
    const nameLine = lines[at + 1];
    const digestLine = lines[at + 2];
    if (nameLine === undefined || !nameLine.startsWith('Name: ') || nameLine.length === 'Name: '.length) {
      throw new SignatureManifestError('expected a "Name: <path>" line after the empty line', at + 2);
    }
    const name = nameLine.slice('Name: '.length);
    if (digestLine === undefined || !digestLine.startsWith('SHA-256-Digest: ')) {
      throw new SignatureManifestError(`expected a "SHA-256-Digest:" line after "Name: ${name}"`, at + 3);
    }
    const digest = digestLine.slice('SHA-256-Digest: '.length);
    if (!DIGEST.test(digest) || Buffer.from(digest, 'base64').length !== 32) {
      throw new SignatureManifestError(`the digest of ${JSON.stringify(name)} is not the base64 of a 32-byte SHA-256`, at + 3);
    }
    if (name === SIGNATURE_MANIFEST_FILE || name === SIGNATURE_FILE) {
      throw new SignatureManifestError(`must not list ${name}, which cannot contain its own digest`, at + 2);
    }
    if (seen.has(name)) throw new SignatureManifestError(`lists ${JSON.stringify(name)} more than once`, at + 2);
    seen.add(name);
    entries.push({ name, digest });
    at += 3;
    if (at < lines.length && lines[at] !== '') {
      throw new SignatureManifestError(`unexpected line ${JSON.stringify(lines[at])}: each block is one "Name:" and one "SHA-256-Digest:" line`, at + 1);
    }
  }
  return { entries };
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

export interface SignedFile {
  path: string;
  /** Lowercase hex SHA-256 of the inflated bytes. */
  sha256: string;
}

/** Compares MANIFEST.MF with the files really in the archive (in archive order). */
export function verifySignatureManifest(entries: readonly SignatureManifestEntry[], files: readonly SignedFile[]): Finding[] {
  const findings: Finding[] = [];
  const listed = new Map(entries.map((entry) => [entry.name, entry.digest]));
  const signed = files.filter((file) => file.path !== SIGNATURE_MANIFEST_FILE && file.path !== SIGNATURE_FILE);
  const present = new Set(signed.map((file) => file.path));
  for (const file of signed) {
    const digest = listed.get(file.path);
    if (digest === undefined) {
      findings.push(finding('signature_file_unlisted', `${file.path} is in the archive but not listed in ${SIGNATURE_MANIFEST_FILE}: it was added after signing`, { file: file.path }));
    } else if (Buffer.from(digest, 'base64').toString('hex') !== file.sha256) {
      findings.push(finding('signature_digest_mismatch', `${file.path} does not match its digest in ${SIGNATURE_MANIFEST_FILE}: it was changed after signing`, { file: file.path }));
    }
  }
  for (const entry of entries) {
    if (!present.has(entry.name)) {
      findings.push(finding('signature_file_missing', `${SIGNATURE_MANIFEST_FILE} lists ${entry.name}, which is not in the archive`, { file: entry.name }));
    }
  }
  if (findings.length === 0) {
    const order = signed.findIndex((file, index) => entries[index]?.name !== file.path);
    if (order !== -1) {
      const message = `${SIGNATURE_MANIFEST_FILE} does not list the files in archive order (first difference: ${signed[order]?.path ?? ''})`;
      findings.push(finding('signature_manifest_invalid', message, { file: SIGNATURE_MANIFEST_FILE }));
    }
  }
  return findings;
}

/**
 * Checks CERT.SIG: well-formed, signed by one of `allowedKeys`, and a valid Ed25519 signature of
 * the exact bytes of MANIFEST.MF.
 */
export function verifySignature(certificate: Buffer, manifestBytes: Buffer, allowedKeys: readonly KeyObject[]): Finding[] {
  const where = { file: SIGNATURE_FILE };
  const invalid = (message: string) => [finding('signature_invalid', `${SIGNATURE_FILE} ${message}`, where)];
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(certificate));
  } catch {
    return invalid('is not UTF-8 JSON of the form {"alg": "Ed25519", "key_id": …, "signature": …}');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return invalid('must be a JSON object');
  const { alg, key_id: keyId, signature } = json as Record<string, unknown>;
  if (alg !== 'Ed25519') return invalid(`has alg ${JSON.stringify(alg)}; only "Ed25519" is accepted`);
  if (typeof keyId !== 'string' || !/^[0-9a-f]{64}$/.test(keyId)) return invalid('needs a key_id of 64 lowercase hex digits');
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature) || Buffer.from(signature, 'base64').length !== 64) {
    return invalid('needs a signature that is the base64 of 64 bytes');
  }
  const key = allowedKeys.find((candidate) => fingerprint(candidate) === keyId);
  if (key === undefined) {
    const why = allowedKeys.length === 0 ? 'no signing key is registered for this app' : 'it is not a registered signing key of the app owner';
    return [finding('signature_key_not_allowed', `the package is signed with key ${keyId}, but ${why}`, where)];
  }
  let valid: boolean;
  try {
    valid = verify(null, manifestBytes, key, Buffer.from(signature, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? [] : invalid(`does not verify: the signature is not of this ${SIGNATURE_MANIFEST_FILE} by key ${keyId}`);
}
