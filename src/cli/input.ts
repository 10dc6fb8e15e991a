import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { CliError, describeError } from './errors.js';
import { isMissing } from './home.js';

/** Checks the verbs run before touching their inputs, so a typo gives one clear line (exit 2). */

export async function assertReadableFile(file: string): Promise<void> {
  const info = await stat(file).catch((error: unknown) => {
    throw new CliError(isMissing(error) ? `cannot read ${file}: no such file` : `cannot read ${file}: ${describeError(error)}`);
  });
  if (!info.isFile()) throw new CliError(`cannot read ${file}: not a file`);
  await access(file, constants.R_OK).catch((error: unknown) => {
    throw new CliError(`cannot read ${file}: ${describeError(error)}`);
  });
}

export async function assertFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch((error: unknown) => {
    throw new CliError(isMissing(error) ? `no such folder: ${dir}` : `cannot read folder ${dir}: ${describeError(error)}`);
  });
  if (!info.isDirectory()) throw new CliError(`not a folder: ${dir}`);
}
