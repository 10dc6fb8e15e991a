import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { BuildError, buildPackage } from '../package/build.js';
import { validateManifest, type Manifest } from '../package/index.js';
import { checkPackageFile } from './check.js';
import { CliError, describeError } from './errors.js';
import { formatBytes, formatFinding, hasErrors, summarizeFindings } from './format.js';
import { isMissing, keyPaths, loadPrivateKey } from './home.js';
import { assertFolder } from './input.js';
import { CREATED_BY } from './version.js';

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

export async function buildCommand(dir: string, options: BuildCommandOptions): Promise<void> {
  await assertFolder(dir);
  const manifest = await readValidManifest(dir);
  const privateKey = await loadPrivateKey(options.key ?? keyPaths().privateKey);
  const out = options.out ?? `${manifest.id}-${manifest.version}.mosis`;

  const built = await buildPackage(dir, { privateKey, out, createdBy: CREATED_BY }).catch((error: unknown) => {
    throw error instanceof BuildError ? new CliError(error.message) : error;
  });
  console.log(`Built ${path.relative(process.cwd(), built.file) || built.file} (${formatBytes(built.size)}, ${built.files.length} entries)`);
  console.log(`SHA-256:   ${built.sha256}`);
  console.log(`Signed by: ${built.keyId}`);

  // The same checks the portal runs on upload, so surprises show up here rather than there.
  const result = await checkPackageFile(built.file, { allowedKeys: [createPublicKey(privateKey)], expectedId: manifest.id });
  for (const finding of result.findings) console.log(formatFinding(finding));
  console.log(`Checks: ${summarizeFindings(result.findings)}`);
  if (hasErrors(result.findings)) throw new CliError('the package fails its checks; fix the errors above before uploading', 1);
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
