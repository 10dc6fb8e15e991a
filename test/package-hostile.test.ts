import { describe, expect, test } from 'vitest';
import { checkPackage } from '../src/package/check.js';
import { HOSTILE_CASES, PATHOLOGICAL_CASES } from './support/hostile.js';
import { describeFindings, describeHostileCases, useWorkshop } from './support/hostile-suite.js';

/**
 * Every bad case of PACKAGE.md, as a real file, through the real checker: blocking cases must be
 * refused (ok: false) with their own finding code, tier-3 cases must reach the reviewer as that
 * warning without blocking an otherwise clean package. The pathological cases, which take seconds
 * each, are in package-hostile-pathological.test.ts, so they run beside these.
 */

const workshop = useWorkshop();

describe('the clean sample package', () => {
  test('passes every check without a single finding', async () => {
    const file = await workshop().build('clean sample');
    const result = await checkPackage(file, workshop().checkOptions());
    expect(result.findings, describeFindings(result)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.manifest?.id).toBe('com.example.hostile');
  });

  test('x- manifest extensions are allowed', async () => {
    const file = await workshop().build('x field', (app) => app.patchManifest({ 'x-build': { commit: 'abc123' } }));
    const result = await checkPackage(file, workshop().checkOptions());
    expect(result.findings, describeFindings(result)).toEqual([]);
  });
});

test('there are at least 30 distinct hostile packages', () => {
  expect(new Set(HOSTILE_CASES.map((hostile) => hostile.name)).size).toBe(HOSTILE_CASES.length);
  expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(30);
});

describeHostileCases(
  HOSTILE_CASES.filter((hostile) => !PATHOLOGICAL_CASES.includes(hostile)),
  workshop,
);
