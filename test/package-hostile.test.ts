import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkPackage, FINDING_CODES, type FindingCode, type PackageCheckResult } from '../src/package/index.js';
import { HOSTILE_CASES, HostileWorkshop, type HostileCase } from './support/hostile.js';

/**
 * Every bad case of PACKAGE.md, as a real file, through the real checker: blocking cases must be
 * refused (ok: false) with their own finding code, tier-3 cases must reach the reviewer as that
 * warning without blocking an otherwise clean package.
 */

let workshop: HostileWorkshop;

beforeAll(async () => {
  workshop = await HostileWorkshop.open();
});
afterAll(async () => {
  await workshop.close();
});

function expectedCodes(hostile: HostileCase): readonly FindingCode[] {
  return typeof hostile.expect === 'string' ? [hostile.expect] : hostile.expect;
}

function describeFindings(result: PackageCheckResult): string {
  return result.findings.map((finding) => `${finding.severity} ${finding.code}: ${finding.message}`).join('\n');
}

describe('the clean sample package', () => {
  test('passes every check without a single finding', async () => {
    const file = await workshop.build('clean sample');
    const result = await checkPackage(file, workshop.checkOptions());
    expect(result.findings, describeFindings(result)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.manifest?.id).toBe('com.example.hostile');
  });

  test('x- manifest extensions are allowed', async () => {
    const file = await workshop.build('x field', (app) => app.patchManifest({ 'x-build': { commit: 'abc123' } }));
    const result = await checkPackage(file, workshop.checkOptions());
    expect(result.findings, describeFindings(result)).toEqual([]);
  });
});

test('there are at least 30 distinct hostile packages', () => {
  expect(new Set(HOSTILE_CASES.map((hostile) => hostile.name)).size).toBe(HOSTILE_CASES.length);
  expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(30);
});

describe.each(HOSTILE_CASES.map((hostile) => [hostile.name, hostile] as const))('%s', (_name, hostile) => {
  const codes = expectedCodes(hostile);
  const blocking = codes.some((code) => FINDING_CODES[code].severity === 'error');
  // Generous: these read or refuse archives of 100 000 entries or 1 GiB inflated; hanging is the failure.
  const timeout = hostile.slow === true ? 90_000 : 20_000;

  test(
    blocking ? `is refused with ${codes.join(' or ')}` : `is flagged for the reviewer with ${codes.join(' or ')}`,
    async () => {
      const file = await hostile.make(workshop);
      const started = performance.now();
      const result = await checkPackage(file, workshop.checkOptions(hostile.options));
      const elapsed = performance.now() - started;
      // Not a benchmark (see bench/package-validate.ts): only proof that the refusal does not hang.
      if (hostile.slow === true) expect(elapsed).toBeLessThan(15_000);
      const found = result.findings.filter((finding) => codes.includes(finding.code));
      expect(found, describeFindings(result)).not.toEqual([]);
      for (const finding of found) {
        expect(finding).toMatchObject({ tier: FINDING_CODES[finding.code].tier, severity: FINDING_CODES[finding.code].severity });
        expect(finding.message).not.toBe('');
      }
      if (blocking) {
        expect(result.ok).toBe(false);
      } else {
        // A warning alone never blocks: everything else about these packages is clean.
        expect(result.findings.filter((finding) => finding.severity === 'error'), describeFindings(result)).toEqual([]);
        expect(result.ok).toBe(true);
      }
    },
    timeout,
  );
});
