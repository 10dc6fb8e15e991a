#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerBuild } from './build.js';
import { CliError, describeError } from './errors.js';
import { registerInit } from './init.js';
import { registerInspect } from './inspect.js';
import { registerKeys } from './keys.js';
import { registerValidate } from './validate.js';
import { CLI_VERSION } from './version.js';

/** `mosis`: the developer CLI. Each verb lives in its own file; this one wires them and maps errors to exit codes. */

function createProgram(): Command {
  const program = new Command('mosis')
    .description('Build, sign and check Mosis app packages (.mosis)')
    .version(CLI_VERSION)
    // Throw instead of exiting so usage errors get the same exit code (2) as other input errors.
    .exitOverride();
  registerInit(program);
  registerKeys(program);
  registerBuild(program);
  registerValidate(program);
  registerInspect(program);
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the message or the help text.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      console.error(`mosis: ${error.message}`);
      return error.exitCode;
    }
    console.error(`mosis: unexpected error: ${describeError(error)}`);
    // The stack helps a bug report but buries the one line a developer needs; show it on request.
    if (process.env.MOSIS_DEBUG === '1' && error instanceof Error && error.stack !== undefined) console.error(error.stack);
    return 2;
  }
}

process.exitCode = await main(process.argv);
