import type { Config } from '../config/index.js';

/**
 * One `mosis-portal` command. `usage` is its synopsis line, `help` what `mosis-portal <name>
 * --help` prints below it. `run` throws UsageError (exit 2) for wrong arguments; anything else it
 * throws is a failure (exit 1).
 */
export interface Verb {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** `mosis-portal <name> [options]`. */
  usage: string;
  /** Options and what it does, in full; ends with its exit codes when they differ from the usual. */
  help: string;
  run(config: Config, args: string[]): Promise<void>;
}

/** Wrong arguments or refused input: the operator's to fix (exit 2). */
export class UsageError extends Error {}
