/**
 * The .mosis package format: reading, signature verification and every check of PACKAGE.md.
 * Pure library (no database, no HTTP), shared by the portal's upload path and the `mosis` CLI.
 * Packages are checked through PackageChecker, on worker threads under a budget; nothing here
 * loads the content parsers into the caller's thread.
 */
export * from './findings.js';
export * from './keys.js';
export * from './store-signature.js';
export { DEFAULT_LIMITS, type PackageLimits } from './limits.js';
export type { CheckOptions } from './check.js';
export { ChecksBusyError, DEFAULT_CHECK_BUDGET, PackageChecker, type CheckBudget } from './check-pool.js';
export { PackageStreamScan, type ScannedEntries } from './stream-scan.js';
export { comparePermissions, diffPermissions, PERMISSION_APIS, PERMISSION_RISK, type PermissionRisk } from './permissions.js';
export { validateManifest, MANIFEST_FILE, PACKAGE_ID } from './manifest.js';
export {
  parseSignatureManifest,
  SignatureManifestError,
  SIGNATURE_FILE,
  SIGNATURE_MANIFEST_FILE,
  type SignatureManifestEntry,
} from './signature.js';
export { signEd25519Stream } from './stream-sign.js';
