import type { KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { KeyFormatError, parsePublicKey } from '../package/index.js';
import { checkPackageFile } from './check.js';
import { CliError } from './errors.js';
import { formatFinding, hasErrors, summarizeFindings } from './format.js';
import { keyPaths, loadPublicKeyFile } from './home.js';
import { assertReadableFile } from './input.js';
import { emit, say } from './output.js';

interface ValidateOptions {
  key: string[];
}

// Base64 of a raw 32-byte Ed25519 key is exactly 44 characters ending in one '='.
const RAW_KEY_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('run the portal\'s package checks on a .mosis file')
    .argument('<file>', 'package to check')
    .addOption(
      new Option('--key <key>', 'allowed signer: base64 of a raw public key or a PEM file; repeatable')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], '$MOSIS_HOME/signing_key.pub'),
    )
    .action(async (file: string, options: ValidateOptions) => {
      await validateCommand(file, options);
    });
}

export async function validateCommand(file: string, options: ValidateOptions): Promise<void> {
  await assertReadableFile(file);
  const allowedKeys = options.key.length > 0 ? await Promise.all(options.key.map(resolveKey)) : [await defaultKey()];
  const result = await checkPackageFile(file, { allowedKeys });

  for (const finding of result.findings) say(formatFinding(finding));
  say(`${hasErrors(result.findings) ? 'FAILED' : 'OK'}: ${summarizeFindings(result.findings)}`);
  emit(result);
  // Exit 1 (not a thrown CliError) so --json output stays the only thing on stdout.
  if (hasErrors(result.findings)) process.exitCode = 1;
}

async function resolveKey(value: string): Promise<KeyObject> {
  if (!RAW_KEY_BASE64.test(value)) {
    return loadPublicKeyFile(value, `bad --key ${value}: no such file, and not base64 of a raw 32-byte Ed25519 public key`);
  }
  try {
    return parsePublicKey(value);
  } catch (error) {
    if (error instanceof KeyFormatError) throw new CliError(`bad --key ${value}: ${error.message}`);
    throw error;
  }
}

function defaultKey(): Promise<KeyObject> {
  const file = keyPaths().publicKey;
  return loadPublicKeyFile(file, `no public key at ${file}; run \`mosis keys generate\` or pass --key`);
}
