import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkPackage } from './check.js';
import { ChecksBusyError, DEFAULT_CHECK_BUDGET, PackageChecker, type CheckBudget } from './check-pool.js';
import { appFiles, keyPair, signed, Workbench, yazlZip, type KeyPair } from './test-support.js';

/**
 * The checks on worker threads: the same verdict as in the caller's thread, and a package that
 * passes the time or memory budget is refused with check_budget_exceeded while the checker goes on.
 */

let bench: Workbench;
let keys: KeyPair;
let clean: string;
let heavy: string;
let slow: string;
let huge: string;
const checkers: PackageChecker[] = [];

// Valid Lua: 20 000 lines take hundreds of milliseconds to parse and analyse, 40 000 over a second; 60 000 lines (3 MiB,
// within the size limit) make a syntax tree of far more than 64 MiB.
const luaLines = (count: number) => Array.from({ length: count }, (_, i) => `local v${i} = { name = "item ${i}", size = ${i} * 2 }`).join('\n');

function checker(budget: Partial<CheckBudget> = {}): PackageChecker {
  const created = new PackageChecker({ ...DEFAULT_CHECK_BUDGET, threads: 1, ...budget });
  checkers.push(created);
  return created;
}

const options = () => ({ allowedKeys: [keys.publicKey] });

beforeAll(async () => {
  bench = await Workbench.create();
  keys = keyPair();
  clean = await bench.file(await yazlZip(signed(appFiles(), keys)));
  heavy = await bench.file(await yazlZip(signed(appFiles({ 'assets/scripts/heavy.lua': luaLines(20_000) }), keys)));
  slow = await bench.file(await yazlZip(signed(appFiles({ 'assets/scripts/slow.lua': luaLines(40_000) }), keys)));
  huge = await bench.file(await yazlZip(signed(appFiles({ 'assets/scripts/huge.lua': luaLines(60_000) }), keys)));
});
afterAll(async () => {
  await Promise.all(checkers.map((created) => created.close()));
  await bench.cleanup();
});

describe('PackageChecker', () => {
  test('gives the verdict checkPackage gives in the calling thread', async () => {
    const inWorker = await checker().check(heavy, options());
    expect(inWorker).toEqual(await checkPackage(heavy, options()));
    expect(inWorker.ok).toBe(true);
    expect(inWorker.files.map((file) => file.path)).toContain('assets/scripts/heavy.lua');
  });

  test('refuses a package whose checks pass the time budget, then checks the next one', async () => {
    // A budget the clean package stays far below even on a loaded machine, and the slow one passes.
    const pool = checker({ timeMs: 300 });
    const result = await pool.check(slow, options());
    expect(result).toMatchObject({ ok: false, manifest: null, files: [] });
    expect(result.findings).toEqual([expect.objectContaining({ code: 'check_budget_exceeded', severity: 'error', message: expect.stringContaining('longer than 0.3 seconds') })]);
    // The worker that ran over was thrown away; a fresh one checks the clean package in time.
    expect(await pool.check(clean, options())).toMatchObject({ ok: true, findings: [] });
  });

  test('refuses a package whose checks pass the memory budget, then checks the next one', async () => {
    const pool = checker({ memoryMb: 64 });
    const result = await pool.check(huge, options());
    expect(result.findings).toEqual([expect.objectContaining({ code: 'check_budget_exceeded', message: expect.stringContaining('more than 64 MiB') })]);
    expect(result.ok).toBe(false);
    expect(await pool.check(clean, options())).toMatchObject({ ok: true, findings: [] });
  });

  test('refuses more waiting checks than its queue holds, without dropping the ones it took', async () => {
    const pool = checker({ queue: 1 });
    const running = pool.check(heavy, options());
    const waiting = pool.check(clean, options());
    await expect(pool.check(clean, options())).rejects.toBeInstanceOf(ChecksBusyError);
    expect((await running).ok).toBe(true);
    expect((await waiting).ok).toBe(true);
  });

  test('reports a file that cannot be read as an error, not as a finding', async () => {
    await expect(checker().check(`${bench.dir}/missing.mosis`, options())).rejects.toThrow(/ENOENT/);
  });
});
