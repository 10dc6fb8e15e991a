import { generateKeyPairSync } from 'node:crypto';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { fingerprint, rawPublicKey } from '../package/index.js';
import { CliError } from './errors.js';
import { keyPaths, mosisHome } from './home.js';

interface GenerateOptions {
  out?: string;
  force?: boolean;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage the key that signs your packages');
  keys
    .command('generate')
    .description('create an Ed25519 signing key pair (signing_key.pem + signing_key.pub)')
    .option('--out <dir>', 'folder for the key pair (default: $MOSIS_HOME or ~/.mosis)')
    .option('--force', 'replace an existing key pair')
    .action(async (options: GenerateOptions) => {
      await generateKeys(options);
    });
}

export async function generateKeys(options: GenerateOptions): Promise<void> {
  const directory = options.out === undefined ? mosisHome() : path.resolve(options.out);
  const paths = keyPaths(directory);
  if (options.force !== true) {
    for (const file of [paths.privateKey, paths.publicKey]) {
      if (await exists(file)) {
        throw new CliError(`${file} already exists; pass --force to replace it (the portal will no longer accept packages signed with the old key unless it stays registered)`);
      }
    }
  }

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const flag = options.force === true ? 'w' : 'wx';
  await writeFile(paths.privateKey, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag });
  // writeFile's mode applies only to new files; a replaced key must not keep looser permissions.
  await chmod(paths.privateKey, 0o600);
  await writeFile(paths.publicKey, publicKey.export({ format: 'pem', type: 'spki' }), { mode: 0o644, flag });

  console.log(`Private key: ${paths.privateKey} (keep it secret; mode 0600)`);
  console.log(`Public key:  ${paths.publicKey}`);
  console.log(`Fingerprint: ${fingerprint(publicKey)}`);
  console.log(`Register this public key in the portal: ${rawPublicKey(publicKey).toString('base64')}`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
