import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { BuildError, buildPackage } from '../package/build.js';
import { validateManifest, type Finding, type Manifest } from '../package/index.js';
import { checkPackageFile } from './check.js';
import { CliError, describeError } from './errors.js';
import { formatBytes, formatFinding, hasErrors, summarizeFindings } from './format.js';
import { isMissing, keyPaths, loadPrivateKey } from './home.js';
import { assertFolder } from './input.js';
import { CREATED_BY } from './version.js';
import { emit, say } from './output.js';

interface BuildCommandOptions {
  key?: string;
  out?: string;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build and sign <id>-<version>.mosis from an app folder, then check it')
    .argument('[dir]', 'app folder (holds manifest.json)', '.')
    .option('--key <file>', 'signing key, PKCS8 PEM (default: $MOSIS_HOME/signing_key.pem)')
    .option('--out <file>', 'package to write (default: ./<id>-<version>.mosis)')
    .action(async (dir: string, options: BuildCommandOptions) => {
      await buildCommand(dir, options);
    });
}

export interface BuiltPackage {
  file: string;
  sha256: string;
  size: number;
  entries: number;
  keyId: string;
  manifest: Manifest;
  findings: Finding[];
}

export async function buildCommand(dir: string, options: BuildCommandOptions): Promise<void> {
  const built = await buildAndCheck(dir, options);
  printBuild(built);
  emit({ file: built.file, sha256: built.sha256, size: built.size, key_id: built.keyId, manifest: built.manifest, findings: built.findings });
  if (hasErrors(built.findings)) throw new CliError('the package fails its checks; fix the errors above before uploading', 1);
}

/** Builds and signs the folder's package, then runs the portal's checks on it (`mosis publish` builds the same way). */
export async function buildAndCheck(dir: string, options: BuildCommandOptions): Promise<BuiltPackage> {
  await assertFolder(dir);
  const manifest = await readValidManifest(dir);
  const privateKey = await loadPrivateKey(options.key ?? keyPaths().privateKey);
  const out = options.out ?? `${manifest.id}-${manifest.version}.mosis`;

  const built = await buildPackage(dir, { privateKey, out, createdBy: CREATED_BY }).catch((error: unknown) => {
    throw error instanceof BuildError ? new CliError(error.message) : error;
  });
  // The same checks the portal runs on upload, so surprises show up here rather than there.
  const result = await checkPackageFile(built.file, { allowedKeys: [createPublicKey(privateKey)], expectedId: manifest.id });
  return { file: built.file, sha256: built.sha256, size: built.size, entries: built.files.length, keyId: built.keyId, manifest, findings: result.findings };
}

export function printBuild(built: BuiltPackage): void {
  say(`Built ${path.relative(process.cwd(), built.file) || built.file} (${formatBytes(built.size)}, ${built.entries} entries)`);
  say(`SHA-256:   ${built.sha256}`);
  say(`Signed by: ${built.keyId}`);
  for (const finding of built.findings) say(formatFinding(finding));
  say(`Checks: ${summarizeFindings(built.findings)}`);
}

/** manifest.json of the app folder, validated with the portal's rules. */
async function readValidManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, 'manifest.json');
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new CliError(isMissing(error) ? `no manifest.json in ${dir}; run \`mosis init\` to start an app` : `cannot read ${file}: ${describeError(error)}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${describeError(error)}`);
  }
  const { manifest, findings } = validateManifest(json);
  const errors = findings.filter((finding) => finding.severity === 'error');
  if (manifest === null || errors.length > 0) {
    throw new CliError(`${file} is invalid: ${errors.map((finding) => finding.message).join('; ') || 'not a valid manifest'}`);
  }
  return manifest;
}
