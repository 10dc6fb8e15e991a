import { sign, verify, type KeyObject } from 'node:crypto';
import { PACKAGE_ID } from './manifest.js';

/** What the store signs for one published version (PACKAGE.md, "Store signature"). */
export interface StoreSignedVersion {
  packageId: string;
  versionCode: number;
  /** Lowercase hex SHA-256 of the .mosis file. */
  sha256: string;
}

const PREFIX = 'mosis-store-v1';

/**
 * The exact bytes the store key signs: `mosis-store-v1\n<package_id>\n<version_code>\n<sha256>`.
 * Devices rebuild them from what they downloaded, so the values are checked here, not trusted:
 * a newline in a package id would let one message stand for another.
 */
export function storeSignatureMessage(version: StoreSignedVersion): Buffer {
  if (!PACKAGE_ID.test(version.packageId)) throw new Error(`not a package id: ${JSON.stringify(version.packageId)}`);
  if (!Number.isSafeInteger(version.versionCode) || version.versionCode < 0) throw new Error(`not a version code: ${version.versionCode}`);
  if (!/^[0-9a-f]{64}$/.test(version.sha256)) throw new Error('the sha256 must be 64 lowercase hex digits');
  return Buffer.from(`${PREFIX}\n${version.packageId}\n${version.versionCode}\n${version.sha256}`, 'utf8');
}

/** Base64 of the Ed25519 signature of the version's message. */
export function signStoreVersion(privateKey: KeyObject, version: StoreSignedVersion): string {
  return sign(null, storeSignatureMessage(version), privateKey).toString('base64');
}

/** Whether a base64 store signature verifies with an Ed25519 public key. */
export function verifyStoreSignature(publicKey: KeyObject, version: StoreSignedVersion, signature: string): boolean {
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== 64) return false;
  return verify(null, storeSignatureMessage(version), publicKey, bytes);
}
