import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { PackageCheckResult } from '../package/index.js';
import { rawPublicKey } from '../package/keys.js';
import { appFiles, keyPair, manifestJson, signed, yazlZip, type KeyPair } from '../package/test-support.js';
import { cliScratch } from './test-support.js';

// `mosis validate` on crafted packages (test-support.ts runs the binary); beside cli-workflow and
// cli-errors, in a file of its own so the three run side by side.

const { paths, mosis } = cliScratch();

describe('crafted packages end in a verdict, exit code 1', () => {
  let key: string;
  const signedPackage = async (name: string, changes: Record<string, string>): Promise<string> => {
    const file = path.join(paths.scratch, `${name}.mosis`);
    await writeFile(file, await yazlZip(signed(appFiles(changes), keys)));
    return file;
  };
  let keys: KeyPair;
  beforeAll(() => {
    keys = keyPair();
    key = rawPublicKey(keys.publicKey).toString('base64');
  });

  test('a manifest.json nesting 10 000 arrays deep is a finding, not a crash', async () => {
    const manifest = JSON.stringify(manifestJson());
    const file = await signedPackage('deep-manifest', { 'manifest.json': `{"x-deep": ${'['.repeat(10_000)}${']'.repeat(10_000)}, ${manifest.slice(1)}` });
    const text = await mosis(['validate', file, '--key', key]);
    expect(text, text.stderr).toMatchObject({ code: 1, stderr: '' });
    expect(text.stdout).toMatch(/^error\s+T1\s+manifest_invalid\s.*nested more than 64 deep/m);
    const json = await mosis(['validate', file, '--key', key, '--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as PackageCheckResult).findings.map((finding) => finding.code)).toEqual(['manifest_invalid']);
  });

  test('checks that run over the time budget end with check_budget_exceeded', async () => {
    const lua = Array.from({ length: 20_000 }, (_, i) => `local v${i} = { name = "item ${i}", size = ${i} * 2 }`).join('\n');
    const file = await signedPackage('heavy', { 'assets/scripts/heavy.lua': lua });
    const over = await mosis(['validate', file, '--key', key], { env: { PACKAGE_CHECK_TIMEOUT_MS: '100' } });
    expect(over, over.stderr).toMatchObject({ code: 1, stderr: '' });
    expect(over.stdout).toMatch(/^error\s+T2\s+check_budget_exceeded\s.*longer than 0\.1 seconds/m);
    // Within the default budget the same package is fine.
    expect((await mosis(['validate', file, '--key', key])).code).toBe(0);
  });

  test('a budget that is not a number is a usage error', async () => {
    const run = await mosis(['validate', await signedPackage('clean', {}), '--key', key], { env: { PACKAGE_CHECK_TIMEOUT_MS: 'soon' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('mosis: PACKAGE_CHECK_TIMEOUT_MS must be a whole number above 0, got "soon"');
  });
});
