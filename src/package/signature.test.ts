import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { parseSignatureManifest, SignatureManifestError, verifySignature, verifySignatureManifest } from './signature.js';
import { certificate, keyPair, signatureManifestText } from './test-support.js';

const files = [
  { path: 'manifest.json', data: Buffer.from('{}') },
  { path: 'assets/main.rml', data: Buffer.from('<rml/>') },
];
const digest = (data: Buffer) => createHash('sha256').update(data).digest('base64');
const hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const inArchive = files.map((file) => ({ path: file.path, sha256: hex(file.data) }));

function parseError(text: string): { message: string; line: number } {
  try {
    parseSignatureManifest(text);
  } catch (error) {
    if (error instanceof SignatureManifestError) return { message: error.message, line: error.line };
    throw error;
  }
  throw new Error('parsed');
}

describe('parseSignatureManifest', () => {
  it('reads the format of PACKAGE.md', () => {
    const text = signatureManifestText(files);
    expect(parseSignatureManifest(text).entries).toEqual(files.map((file) => ({ name: file.path, digest: digest(file.data) })));
    expect(parseSignatureManifest(`${text}\n`).entries).toHaveLength(2);
    expect(parseSignatureManifest('Manifest-Version: 1.0\nCreated-By: x\n').entries).toEqual([]);
  });

  it.each([
    ['Windows line ends', signatureManifestText(files).replace(/\n/g, '\r\n'), 1, /"\\r"/],
    ['no version header', 'Created-By: x\n', 1, /Manifest-Version: 1\.0/],
    ['a header line that is not Key: value', 'Manifest-Version: 1.0\nhello\n', 2, /not a "Key: value"/],
    ['a Name in the header block', 'Manifest-Version: 1.0\nName: a\n', 2, /empty line/],
    ['a block without digest', 'Manifest-Version: 1.0\n\nName: a\n', 4, /SHA-256-Digest/],
    ['a digest that is not 32 bytes', 'Manifest-Version: 1.0\n\nName: a\nSHA-256-Digest: AAAA\n', 4, /32-byte/],
    ['an extra line in a block', `Manifest-Version: 1.0\n\nName: a\nSHA-256-Digest: ${digest(Buffer.from(''))}\nX-Other: 1\n`, 5, /unexpected line/],
    ['a name listed twice', signatureManifestText([files[0] ?? { path: '', data: Buffer.alloc(0) }, files[0] ?? { path: '', data: Buffer.alloc(0) }]), 7, /more than once/],
    ['CERT.SIG listed', signatureManifestText([{ path: 'META-INF/CERT.SIG', data: Buffer.from('x') }]), 4, /must not list/],
  ])('refuses %s, naming the line', (_case, text, line, message) => {
    const error = parseError(text);
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
  });
});

describe('verifySignatureManifest', () => {
  const entries = parseSignatureManifest(signatureManifestText(files)).entries;
  const signatureFiles = [
    { path: 'META-INF/MANIFEST.MF', sha256: '0'.repeat(64) },
    { path: 'META-INF/CERT.SIG', sha256: '1'.repeat(64) },
  ];

  it('accepts an archive that matches, ignoring the two signature files', () => {
    expect(verifySignatureManifest(entries, [...inArchive, ...signatureFiles])).toEqual([]);
  });

  it('reports files added, removed and changed after signing', () => {
    const changed = [{ path: 'manifest.json', sha256: hex(Buffer.from('{"x":1}')) }, { path: 'assets/extra.lua', sha256: hex(Buffer.from('')) }];
    expect(verifySignatureManifest(entries, changed).map((found) => [found.code, found.file])).toEqual([
      ['signature_digest_mismatch', 'manifest.json'],
      ['signature_file_unlisted', 'assets/extra.lua'],
      ['signature_file_missing', 'assets/main.rml'],
    ]);
  });

  it('requires the archive order', () => {
    expect(verifySignatureManifest(entries, [...inArchive].reverse()).map((found) => found.code)).toEqual(['signature_manifest_invalid']);
  });
});

describe('verifySignature', () => {
  const keys = keyPair();
  const manifest = Buffer.from(signatureManifestText(files));
  const good = certificate(manifest, keys.privateKey, keys.publicKey);
  const edit = (change: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...(JSON.parse(good.toString()) as object), ...change }));
  const codes = (cert: Buffer, allowed = [keys.publicKey], bytes = manifest) => verifySignature(cert, bytes, allowed).map((found) => found.code);

  it('accepts a signature of the exact MANIFEST.MF bytes by an allowed key', () => {
    expect(codes(good)).toEqual([]);
    expect(codes(good, [keyPair().publicKey, keys.publicKey])).toEqual([]);
  });

  it('refuses a key that is not allowed, or any key when none is registered', () => {
    expect(codes(good, [keyPair().publicKey])).toEqual(['signature_key_not_allowed']);
    expect(codes(good, [])).toEqual(['signature_key_not_allowed']);
  });

  it('refuses signatures that do not verify or are malformed', () => {
    expect(codes(good, undefined, Buffer.concat([manifest, Buffer.from('\n')]))).toEqual(['signature_invalid']);
    const stranger = keyPair();
    const forged = JSON.parse(certificate(manifest, stranger.privateKey, stranger.publicKey).toString()) as { signature: string };
    expect(verifySignature(edit({ signature: forged.signature }), manifest, [keys.publicKey])).toEqual([
      expect.objectContaining({ code: 'signature_invalid', message: expect.stringContaining('does not verify') }),
    ]);
    expect(codes(edit({ alg: 'RS256' }))).toEqual(['signature_invalid']);
    expect(codes(edit({ key_id: 'ABC' }))).toEqual(['signature_invalid']);
    expect(codes(edit({ signature: 'AAAA' }))).toEqual(['signature_invalid']);
    expect(codes(Buffer.from('-----BEGIN PKCS7-----'))).toEqual(['signature_invalid']);
    expect(codes(Buffer.from('[]'))).toEqual(['signature_invalid']);
  });
});
