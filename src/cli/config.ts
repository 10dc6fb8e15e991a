import type { Command } from 'commander';
import { CliError } from './errors.js';
import { emit, say } from './output.js';
import { DEFAULT_PORTAL, normalizePortal, readConfig, writeConfig } from './settings.js';

/** `mosis config get|set portal`: the one setting the CLI keeps (in $MOSIS_HOME/config.json). */

const KEYS = ['portal'] as const;

export function registerConfig(program: Command): void {
  const config = program.command('config').description('show or change the CLI\'s settings (the portal it talks to)');
  config
    .command('get')
    .description('print a setting')
    .argument('<key>', KEYS.join(' | '))
    .action(async (key: string) => {
      assertKey(key);
      const { portal } = await readConfig();
      const fromEnv = process.env.MOSIS_PORTAL;
      const value = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (portal ?? DEFAULT_PORTAL);
      say(value);
      emit({ portal: value, source: fromEnv !== undefined && fromEnv !== '' ? 'MOSIS_PORTAL' : portal === undefined ? 'default' : 'config' });
    });
  config
    .command('set')
    .description('change a setting')
    .argument('<key>', KEYS.join(' | '))
    .argument('<value>', 'the new value, e.g. https://portal.example.com')
    .action(async (key: string, value: string) => {
      assertKey(key);
      const portal = normalizePortal(value);
      await writeConfig({ ...(await readConfig()), portal });
      say(`portal = ${portal}`);
      emit({ portal });
    });
}

function assertKey(key: string): void {
  if (!(KEYS as readonly string[]).includes(key)) throw new CliError(`unknown setting ${JSON.stringify(key)}; settings: ${KEYS.join(', ')}`);
}
