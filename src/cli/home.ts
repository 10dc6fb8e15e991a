import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KeyFormatError, parsePublicKey } from '../package/index.js';
import { CliError, describeError } from './errors.js';

/**
 * Where the CLI keeps the developer's signing key pair: `~/.mosis/` unless `MOSIS_HOME` points
 * elsewhere (tests and CI use that to stay out of the real home directory).
 */
export function mosisHome(): string {
  const override = process.env.MOSIS_HOME;
  return override !== undefined && override !== '' ? path.resolve(override) : path.join(os.homedir(), '.mosis');
}

export interface KeyPaths {
  privateKey: string;
  publicKey: string;
}

export function keyPaths(directory: string = mosisHome()): KeyPaths {
  return { privateKey: path.join(directory, 'signing_key.pem'), publicKey: path.join(directory, 'signing_key.pub') };
}

/** Loads the Ed25519 private key a package is signed with. */
export async function loadPrivateKey(file: string): Promise<KeyObject> {
  const pem = await readFile(file, 'utf8').catch((error: unknown) => {
    if (isMissing(error)) throw new CliError(`no signing key at ${file}; run \`mosis keys generate\``);
    throw new CliError(`cannot read signing key ${file}: ${describeError(error)}`);
  });
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new CliError(`${file} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CliError(`${file} is a ${key.asymmetricKeyType ?? 'unknown'} key; Mosis signs with Ed25519`);
  return key;
}

/** Loads a public key from a PEM file (or a file holding base64 of the raw key). */
export async function loadPublicKeyFile(file: string, missingMessage: string): Promise<KeyObject> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    if (isMissing(error)) throw new CliError(missingMessage);
    throw new CliError(`cannot read public key ${file}: ${describeError(error)}`);
  });
  try {
    return parsePublicKey(text);
  } catch (error) {
    if (error instanceof KeyFormatError) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
}

export function isMissing(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
