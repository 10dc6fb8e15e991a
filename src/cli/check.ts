import { DEFAULT_CHECK_BUDGET, PackageChecker, type CheckBudget, type CheckOptions, type PackageCheckResult } from '../package/index.js';
import { CliError } from './errors.js';

/**
 * The portal's checks, run the portal's way: on a worker thread under the same time and memory
 * budget, so a crafted package ends in a verdict (`check_budget_exceeded`) rather than a hang or a
 * crash. PACKAGE_CHECK_TIMEOUT_MS and PACKAGE_CHECK_MEMORY_MB change the budget as they do the portal's.
 */
export async function checkPackageFile(file: string, options: CheckOptions): Promise<PackageCheckResult> {
  const checker = new PackageChecker(budgetFromEnvironment());
  try {
    return await checker.check(file, options);
  } finally {
    await checker.close();
  }
}

function budgetFromEnvironment(): CheckBudget {
  return {
    ...DEFAULT_CHECK_BUDGET,
    threads: 1,
    timeMs: positiveInteger('PACKAGE_CHECK_TIMEOUT_MS', DEFAULT_CHECK_BUDGET.timeMs),
    memoryMb: positiveInteger('PACKAGE_CHECK_MEMORY_MB', DEFAULT_CHECK_BUDGET.memoryMb),
  };
}

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) throw new CliError(`${name} must be a whole number above 0, got ${JSON.stringify(raw)}`);
  return value;
}
