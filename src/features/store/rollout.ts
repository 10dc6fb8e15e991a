import { createHash } from 'node:crypto';

/**
 * Who gets which version: pure rules, shared by the app detail and the update check, and written
 * down for device makers in docs/store.md.
 */

/** A staged rollout is decided in basis points: 10 000 buckets, rollout_percent × 100 of them inside. */
export const BUCKETS = 10_000;

/**
 * The device's bucket for one version: stable for a device, independent between versions and apps.
 * Unkeyed on purpose: the same device lands in the same bucket on every instance, after a restore,
 * and in a device maker's own test.
 */
export function rolloutBucket(deviceId: string, packageId: string, versionCode: number): number {
  const digest = createHash('sha256').update(`${deviceId}:${packageId}:${versionCode}`).digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

/** Rollout percentage (0–100, two decimals at most count) as basis points. */
export function rolloutBasisPoints(percent: number): number {
  return Math.max(0, Math.min(BUCKETS, Math.round(percent * 100)));
}

/**
 * Largest value of one component of a platform version; larger ones are clamped (no real platform
 * gets there). Three components of at most 99 999 combine below 2^53, so the number stays exact.
 */
const COMPONENT_LIMIT = 99_999;

/**
 * A platform version (`1.4.2`, `1.4.2-beta.1`; the suffix is ignored) as one comparable number, or
 * null when it is not one. Components above 99 999 are clamped, so the number stays exact.
 */
export function platformRank(version: string): number | null {
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:[-+][0-9A-Za-z.-]{0,64})?$/.exec(version);
  if (!match) return null;
  const [major, minor, patch] = [match[1], match[2], match[3]].map((part) => Math.min(Number(part), COMPONENT_LIMIT)) as [number, number, number];
  return (major * (COMPONENT_LIMIT + 1) + minor) * (COMPONENT_LIMIT + 1) + patch;
}

/** What the rule needs of one published version. */
export interface RolloutCandidate {
  versionCode: number;
  beta: boolean;
  halted: boolean;
  /** Basis points inside the rollout (10 000 = everyone). */
  basisPoints: number;
  /** platformRank of min_mosis_version; 0 when the manifest names none. */
  minPlatform: number;
}

/** The caller: which channel it follows, its platform, its device id (each may be absent). */
export interface DeviceProfile {
  beta: boolean;
  /** platformRank of X-Mosis-Version; null: not sent, nothing is filtered by platform. */
  platform: number | null;
  deviceId: string | null;
}

/**
 * Whether this device may get this version: its channel (a beta device also takes stable), its
 * platform, and its rollout. A halted rollout offers itself to nobody new; without a device id only
 * a full rollout offers itself (a staged one cannot place an anonymous caller stably).
 */
export function mayGet(candidate: RolloutCandidate, device: DeviceProfile, packageId: string): boolean {
  if (candidate.beta && !device.beta) return false;
  if (device.platform !== null && candidate.minPlatform > device.platform) return false;
  if (candidate.basisPoints >= BUCKETS && !candidate.halted) return true;
  if (candidate.halted || device.deviceId === null) return false;
  return rolloutBucket(device.deviceId, packageId, candidate.versionCode) < candidate.basisPoints;
}
