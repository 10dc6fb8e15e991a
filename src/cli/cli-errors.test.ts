import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { cliScratch } from './test-support.js';

// The `mosis` binary's usage and input errors (test-support.ts runs it); beside cli-workflow and
// cli-verdicts, in a file of its own so the three run side by side.

const { paths, mosis } = cliScratch();

describe('clear one-line errors, exit code 2', () => {
  test('build without a signing key names the missing file and the fix', async () => {
    const emptyHome = path.join(paths.scratch, 'no-keys-home');
    const init = await mosis(['init', 'keyless']);
    expect(init.code).toBe(0);
    const run = await mosis(['build', 'keyless'], { env: { MOSIS_HOME: emptyHome } });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`mosis: no signing key at ${path.join(emptyHome, 'signing_key.pem')}; run \`mosis keys generate\`\n`);
  });

  test('init refuses a folder that is not empty', async () => {
    await mkdir(path.join(paths.scratch, 'busy'));
    await writeFile(path.join(paths.scratch, 'busy', 'keep.txt'), 'mine');
    const run = await mosis(['init', 'busy']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('mosis: busy is not empty; run `mosis init` with a new or empty folder\n');
    expect(await readdir(path.join(paths.scratch, 'busy'))).toEqual(['keep.txt']);
  });

  test('init refuses an id the portal would refuse', async () => {
    const run = await mosis(['init', 'badid', '--id', 'Not An Id']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mosis: cannot create the app: .+\n$/);
  });

  test('build of a missing folder', async () => {
    const run = await mosis(['build', 'does-not-exist']);
    expect(run).toMatchObject({ code: 2, stderr: 'mosis: no such folder: does-not-exist\n' });
  });

  test('build with a bad manifest', async () => {
    await mosis(['init', 'broken', '--id', 'com.example.broken']);
    const manifestFile = path.join(paths.scratch, 'broken', 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    await writeFile(manifestFile, JSON.stringify({ ...manifest, version_code: 0 }));
    const run = await mosis(['build', 'broken']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mosis: .*manifest\.json is invalid: .+\n$/);

    await writeFile(manifestFile, '{ not json');
    const notJson = await mosis(['build', 'broken']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^mosis: .*manifest\.json is not valid JSON: .+\n$/);
  });

  test('validate and inspect of an unreadable file', async () => {
    const validate = await mosis(['validate', 'missing.mosis']);
    expect(validate).toMatchObject({ code: 2, stderr: 'mosis: cannot read missing.mosis: no such file\n' });
    const inspect = await mosis(['inspect', paths.scratch]);
    expect(inspect).toMatchObject({ code: 2, stderr: `mosis: cannot read ${paths.scratch}: not a file\n` });
  });

  test('an unknown verb is a usage error', async () => {
    const run = await mosis(['publish-everything']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown command/);
  });
});
