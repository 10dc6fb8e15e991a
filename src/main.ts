#!/usr/bin/env node
import type { Config } from './config/index.js';
import { UsageError, VERBS, type Verb } from './verbs/index.js';

/**
 * Exit codes of every command: 0 done; 1 failed (a bad configuration, or an error the log or the
 * message explains); 2 wrong usage or refused input (an unknown command or option, a weak
 * password, a snapshot that does not verify). A command may document more.
 */
const EXIT_CODES = `Exit codes: 0 done, 1 failed (bad configuration or an error), 2 wrong usage or refused input.`;

function usage(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  const lines = VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`);
  return `Usage: mosis-portal <command> [options]

Commands:
${lines.join('\n')}
  ${'help'.padEnd(width)}  show this text; \`mosis-portal <command> --help\` shows a command's own

Configuration comes from environment variables; see the README.
${EXIT_CODES}`;
}

function verbHelp(verb: Verb): string {
  return `Usage: ${verb.usage}\n\n${verb.help}\n\n${EXIT_CODES}`;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve';
  if (command === 'help' || command === '--help' || command === '-h') {
    const about = VERBS.find((v) => v.name === argv[1]);
    console.log(about ? verbHelp(about) : usage());
    return 0;
  }
  const verb = VERBS.find((v) => v.name === command);
  if (!verb) {
    console.error(`mosis-portal: unknown command "${command}"\n\n${usage()}`);
    return 2;
  }
  const args = argv.slice(1);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(verbHelp(verb));
    return 0;
  }
  // Loaded once a command runs: `--help` and a typo answer without loading the portal.
  const [{ ConfigError, loadConfig }, { AppError }, { PRIVATE_UMASK }] = await Promise.all([
    import('./config/index.js'),
    import('./shared/index.js'),
    import('./storage/private-state.js'),
  ]);
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mosis-portal: ${err.message}`);
      return 1;
    }
    throw err;
  }
  // Everything any verb writes (database, packages, keys, mail, backups) is for this OS user alone.
  process.umask(PRIVATE_UMASK);
  try {
    await verb.run(config, args);
  } catch (err) {
    // Wrong arguments and refused input (e.g. a weak --password) are the operator's to fix: say so plainly.
    if (err instanceof UsageError || (err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err instanceof AppError) {
      console.error(`mosis-portal: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    console.error('mosis-portal: failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
