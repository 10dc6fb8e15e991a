#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerBuild } from './build.js';
import { registerConfig } from './config.js';
import { CliError, describeError } from './errors.js';
import { registerInit } from './init.js';
import { registerInspect } from './inspect.js';
import { registerKeys } from './keys.js';
import { registerLogin } from './login.js';
import { jsonOutput, resultEmitted, useJsonOutput } from './output.js';
import { registerPublish } from './publish.js';
import { registerStatus } from './status.js';
import { registerValidate } from './validate.js';
import { CLI_VERSION } from './version.js';

/** `mosis`: the developer CLI. Each verb lives in its own file; this one wires them and maps errors to exit codes. */

function createProgram(): Command {
  const program = new Command('mosis')
    .description('Create, build, sign, check and publish Mosis apps')
    .version(CLI_VERSION)
    .option('--json', 'print the result as one JSON document on stdout (any verb)')
    // Throw instead of exiting so usage errors get the same exit code (2) as other input errors.
    .exitOverride();
  program.hook('preAction', (command) => {
    useJsonOutput(command.opts<{ json?: boolean }>().json === true);
  });
  registerInit(program);
  registerKeys(program);
  registerBuild(program);
  registerValidate(program);
  registerInspect(program);
  registerLogin(program);
  registerConfig(program);
  registerPublish(program);
  registerStatus(program);
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
    const exitCode = error instanceof CliError ? error.exitCode : 2;
    const message = error instanceof CliError ? error.message : `unexpected error: ${describeError(error)}`;
    console.error(`mosis: ${message}`);
    // Under --json stdout still holds one document a script can read.
    if (jsonOutput() && !resultEmitted()) process.stdout.write(`${JSON.stringify({ error: { message, exit_code: exitCode } }, null, 2)}\n`);
    // The stack helps a bug report but buries the one line a developer needs; show it on request.
    if (!(error instanceof CliError) && process.env.MOSIS_DEBUG === '1' && error instanceof Error && error.stack !== undefined) console.error(error.stack);
    return exitCode;
  }
}

process.exitCode = await main(process.argv);
