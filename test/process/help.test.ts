import { describe, expect, it } from 'vitest';
import { runPortal } from '../support/server-process.js';

/** `mosis-portal --help` and each command's own help, as an operator runs them. */
describe('mosis-portal help', () => {
  const run = async (...args: string[]) => {
    const p = runPortal(args, { DATA_DIR: '/nonexistent/help-needs-no-data-dir' });
    const { code } = await p.exited;
    return { code, output: p.output() };
  };

  // One process per command, side by side: each loads the whole portal's code (seconds on a busy machine).
  it('lists every command, and each command explains itself with its exit codes, touching no data', { timeout: 90_000 }, async () => {
    const { code, output } = await run('--help');
    expect(code).toBe(0);
    const commands = [...output.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['serve', 'migrate', 'create-admin', 'rotate-keys', 'gc']));
    const helps = await Promise.all(commands.map((command) => run(command!, '--help')));
    for (const [i, own] of helps.entries()) {
      expect(own.code, own.output).toBe(0);
      expect(own.output).toContain(`Usage: mosis-portal ${commands[i]}`);
      expect(own.output).toContain('Exit codes:');
    }
    expect((await run('help', 'gc')).output).toContain('Usage: mosis-portal gc');
  });

  it('refuses an unknown command or option with exit code 2 and the list', async () => {
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('unknown command "frobnicate"');
    expect(unknown.output).toContain('Commands:');
    const option = await run('rotate-keys', '--bogus');
    expect(option.code).toBe(2);
  });
});
