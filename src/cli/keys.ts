import { generateKeyPairSync } from 'node:crypto';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApiProblem } from '@mosis/api-client';
import type { Command } from 'commander';
import { fingerprint, rawPublicKey } from '../package/index.js';
import { CliError } from './errors.js';
import { keyPaths, loadPublicKeyFile, mosisHome } from './home.js';
import { cliErrorOf, connect } from './portal.js';
import { emit, say } from './output.js';

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
  keys
    .command('register')
    .description('register your public key with the portal, so it accepts the packages you sign')
    .option('--name <name>', 'how the portal lists the key (default: this machine\'s name)')
    .option('--key <file>', 'public key file (default: $MOSIS_HOME/signing_key.pub)')
    .option('--portal <url>', 'the portal (default: the one you signed in to)')
    .action(async (options: RegisterOptions) => {
      await registerKey(options);
    });
}

interface RegisterOptions {
  name?: string;
  key?: string;
  portal?: string;
}

/** Registers the public half of the local key; one already registered is fine (the portal knows it by fingerprint). */
export async function registerKey(options: RegisterOptions): Promise<void> {
  const file = options.key ?? keyPaths().publicKey;
  const publicKey = await loadPublicKeyFile(file, `no public key at ${file}; run \`mosis keys generate\` first`);
  const session = await connect(options.portal);
  const name = (options.name ?? os.hostname()).slice(0, 100) || 'mosis CLI';
  const { data, error, response } = await session.api.POST('/v1/signing-keys', { body: { name, public_key: rawPublicKey(publicKey).toString('base64') } });
  if (data !== undefined) {
    say(`Registered ${file} with ${session.url} as "${data.name}" (fingerprint ${data.fingerprint}).`);
    emit({ registered: true, id: data.id, name: data.name, fingerprint: data.fingerprint });
    return;
  }
  if (response.status === 409 && error !== undefined && 'code' in error && error.code === 'signing_key_exists') {
    say(`${file} is already registered with ${session.url} (fingerprint ${fingerprint(publicKey)}).`);
    emit({ registered: false, already_registered: true, fingerprint: fingerprint(publicKey) });
    return;
  }
  throw cliErrorOf(session, ApiProblem.fromResponse(response, error));
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

  const publicKeyBase64 = rawPublicKey(publicKey).toString('base64');
  say(`Private key: ${paths.privateKey} (keep it secret; mode 0600)`);
  say(`Public key:  ${paths.publicKey}`);
  say(`Fingerprint: ${fingerprint(publicKey)}`);
  say(`Register it with the portal: \`mosis keys register\` (or paste ${publicKeyBase64} on the signing keys page)`);
  emit({ private_key: paths.privateKey, public_key: paths.publicKey, fingerprint: fingerprint(publicKey), public_key_base64: publicKeyBase64 });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
