import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import yauzl from 'yauzl';
import type { Manifest, PackageCheckResult } from '../package/index.js';
import { checkPackageFile } from './check.js';
import { formatBytes, plural, summarizeFindings } from './format.js';
import { assertReadableFile } from './input.js';
import { emit, say } from './output.js';

// CERT.SIG is a few hundred bytes; anything much larger is not one and is not worth reading.
const MAX_SIGNATURE_BYTES = 64 * 1024;

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show what a .mosis file contains: manifest, permissions, files, signer')
    .argument('<file>', 'package to inspect')
    .action(async (file: string) => {
      await inspectCommand(file);
    });
}

export async function inspectCommand(file: string): Promise<void> {
  await assertReadableFile(file);
  // No allowed keys: inspect shows what is inside; whether the signer is acceptable is `validate`'s question.
  const result = await checkPackageFile(file, { allowedKeys: [] });
  const [sha256, keyId] = await Promise.all([fileSha256(file), readSignerKeyId(file)]);

  say(`Package:  ${file}`);
  say(`SHA-256:  ${sha256}`);
  printManifest(result.manifest);
  say(`Signer:   ${keyId ?? 'none (no readable META-INF/CERT.SIG)'}`);
  printFiles(result);
  const structural = result.findings.filter((finding) => finding.code !== 'signature_key_not_allowed');
  say(`Checks:   ${summarizeFindings(structural)} (signer not checked; run \`mosis validate\` for details)`);
  emit({ file, sha256, key_id: keyId, manifest: result.manifest, files: result.files, findings: structural });
}

function printManifest(manifest: Manifest | null): void {
  if (manifest === null) {
    say('Manifest: missing or invalid');
    return;
  }
  say(`App:      ${manifest.name} (${manifest.id})`);
  say(`Version:  ${manifest.version} (version code ${manifest.version_code})`);
  say(`Entry:    ${manifest.entry}`);
  say(`Requires: Mosis ${manifest.min_mosis_version} or later`);
  say(`Author:   ${manifest.author.name} <${manifest.author.email}>${manifest.author.url === undefined ? '' : ` ${manifest.author.url}`}`);
  if (manifest.category !== undefined) say(`Category: ${manifest.category}`);
  if (manifest.description !== undefined) say(`About:    ${manifest.description}`);
  say(`Permissions: ${manifest.permissions.length === 0 ? 'none' : manifest.permissions.join(', ')}`);
}

function printFiles(result: PackageCheckResult): void {
  const total = result.files.reduce((sum, entry) => sum + entry.size, 0);
  say(`Files (${plural(result.files.length, 'entry', 'entries')}, ${formatBytes(total)} uncompressed):`);
  const width = Math.max(0, ...result.files.map((entry) => formatBytes(entry.size).length));
  for (const entry of result.files) say(`  ${formatBytes(entry.size).padStart(width)}  ${entry.path}`);
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The `key_id` of CERT.SIG, or null when the package has no readable one. */
async function readSignerKeyId(file: string): Promise<string | null> {
  try {
    const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
    try {
      const bytes = await readEntry(zip, 'META-INF/CERT.SIG');
      if (bytes === null) return null;
      const json: unknown = JSON.parse(bytes.toString('utf8'));
      if (typeof json === 'object' && json !== null && 'key_id' in json && typeof json.key_id === 'string') return json.key_id;
      return null;
    } finally {
      zip.close();
    }
  } catch {
    // A damaged archive or CERT.SIG has no signer to show; `validate` explains what is wrong with it.
    return null;
  }
}

function readEntry(zip: yauzl.ZipFile, name: string): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve(null));
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName !== name) {
        zip.readEntry();
        return;
      }
      if (entry.uncompressedSize > MAX_SIGNATURE_BYTES) {
        resolve(null);
        return;
      }
      zip.openReadStream(entry, (error, stream) => {
        if (error !== null) {
          reject(error);
          return;
        }
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', reject);
        stream.on('end', () => resolve(Buffer.concat(chunks)));
      });
    });
    zip.readEntry();
  });
}
