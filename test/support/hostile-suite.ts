import { open, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkPackage } from '../../src/package/check.js';
import { FileReader } from '../../src/package/file-reader.js';
import { DEFAULT_LIMITS, FINDING_CODES, PackageStreamScan, type FindingCode, type PackageCheckResult, type PackageLimits, type ScannedEntries } from '../../src/package/index.js';
import { readZipLayout } from '../../src/package/zip.js';
import { HostileWorkshop, type HostileCase } from './hostile.js';

/**
 * The two tests every hostile case of PACKAGE.md gets, through the real checker: blocking cases must
 * be refused (ok: false) with their own finding code, tier-3 cases must reach the reviewer as that
 * warning without blocking an otherwise clean package; and a stream scan's digests change nothing.
 * Shared by test/package-hostile.test.ts and test/package-hostile-pathological.test.ts, which split
 * the cases so the slow ones run beside the rest.
 */

/** The file's workshop, open from its beforeAll to its afterAll. */
export function useWorkshop(): () => HostileWorkshop {
  let workshop: HostileWorkshop | undefined;
  beforeAll(async () => {
    workshop = await HostileWorkshop.open();
  });
  afterAll(async () => {
    await workshop?.close();
  });
  return () => {
    if (!workshop) throw new Error('the workshop is not open');
    return workshop;
  };
}

export function expectedCodes(hostile: HostileCase): readonly FindingCode[] {
  return typeof hostile.expect === 'string' ? [hostile.expect] : hostile.expect;
}

export function describeFindings(result: PackageCheckResult): string {
  return result.findings.map((finding) => `${finding.severity} ${finding.code}: ${finding.message}`).join('\n');
}

/** The file fed to a PackageStreamScan in `chunkSize`-byte chunks, as an upload streams in. */
async function scanFile(file: string, chunkSize: number, limits: Partial<PackageLimits> | undefined): Promise<ScannedEntries> {
  const bytes = await readFile(file);
  const scan = new PackageStreamScan(limits);
  for (let offset = 0; offset < bytes.length; offset += chunkSize) await scan.write(bytes.subarray(offset, offset + chunkSize));
  return scan.end();
}

/** Names of the entries that have no scanned digest matching the central directory exactly (checkPackage digests those from the file). */
async function unscannedEntries(file: string, scanned: ScannedEntries): Promise<string[]> {
  const handle = await open(file, 'r');
  try {
    const layout = await readZipLayout(new FileReader(handle, (await handle.stat()).size), DEFAULT_LIMITS);
    return layout.entries
      .filter((entry) => {
        const found = scanned.get(entry.localHeaderOffset);
        return !(
          found !== undefined &&
          found.dataOffset === entry.dataOffset &&
          found.method === entry.method &&
          found.compressedSize === entry.compressedSize &&
          found.crc32 === entry.crc32 &&
          found.digest.size === entry.size
        );
      })
      .map((entry) => entry.name);
  } finally {
    await handle.close();
  }
}

/** The tests of each case in `cases`, one describe per case, reading packages from the file's workshop. */
export function describeHostileCases(cases: readonly HostileCase[], workshopOf: () => HostileWorkshop): void {
  /*
   * Both tests of a case read the same package and its verdict: each is made and checked once (the
   * pathological ones take seconds), by whichever test comes first.
   */
  const packages = new Map<HostileCase, Promise<string>>();
  const verdicts = new Map<HostileCase, Promise<PackageCheckResult>>();

  function packageOf(hostile: HostileCase): Promise<string> {
    let file = packages.get(hostile);
    if (file === undefined) {
      file = hostile.make(workshopOf());
      packages.set(hostile, file);
    }
    return file;
  }

  function verdictOn(hostile: HostileCase): Promise<PackageCheckResult> {
    let verdict = verdicts.get(hostile);
    if (verdict === undefined) {
      verdict = packageOf(hostile).then((file) => checkPackage(file, workshopOf().checkOptions(hostile.options)));
      verdicts.set(hostile, verdict);
    }
    return verdict;
  }

  describe.each(cases.map((hostile) => [hostile.name, hostile] as const))('%s', (_name, hostile) => {
    const codes = expectedCodes(hostile);
    const blocking = codes.some((code) => FINDING_CODES[code].severity === 'error');
    // Generous: these read or refuse archives of 100 000 entries or 1 GiB inflated; hanging is the failure.
    const timeout = hostile.slow === true ? 90_000 : 20_000;

    test(
      blocking ? `is refused with ${codes.join(' or ')}` : `is flagged for the reviewer with ${codes.join(' or ')}`,
      async () => {
        await packageOf(hostile);
        const started = performance.now();
        const result = await verdictOn(hostile);
        const elapsed = performance.now() - started;
        // Not a benchmark (see bench/package-validate.ts): only proof that the refusal does not hang.
        if (hostile.slow === true) expect(elapsed).toBeLessThan(15_000);
        const found = result.findings.filter((finding) => codes.includes(finding.code));
        expect(found, describeFindings(result)).not.toEqual([]);
        // However many problems a package has, the reviewer gets a readable list: 100 of a code and a count.
        for (const code of new Set(result.findings.map((finding) => finding.code))) {
          expect(result.findings.filter((finding) => finding.code === code).length).toBeLessThanOrEqual(101);
        }
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

    test(
      'gets the same result with the digests of a stream scan as without',
      async () => {
        const file = await packageOf(hostile);
        const options = workshopOf().checkOptions(hostile.options);
        // 4093: a prime, so chunk boundaries fall everywhere in headers, blocks and descriptors.
        const scanned = await scanFile(file, 4093, options.limits);
        const without = await verdictOn(hostile);
        const withScan = await checkPackage(file, { ...options, scanned });
        expect(withScan).toEqual(without);
        // An archive the checks find nothing wrong with is scanned whole: the digests are not silently wasted.
        if (!without.findings.some((finding) => finding.code.startsWith('zip_'))) {
          expect(await unscannedEntries(file, scanned)).toEqual([]);
        }
      },
      timeout,
    );
  });
}
