import type { Executor } from '../../db/index.js';
import * as repo from './telemetry.repository.js';

/** The portal's app and version code of what a device names, or why there is none. */
export type Resolved = { appId: string; versionCode: number } | 'unknown_app' | 'unknown_version';

/** How long a known (package, version) is remembered, and an unknown one. */
const KNOWN_TTL_MS = 60_000;
const UNKNOWN_TTL_MS = 5_000;
const MAX_REMEMBERED = 10_000;

/**
 * Which app and version a device's package id and version name are, remembered a minute (an
 * unknown one a few seconds, so a version uploaded a moment ago is soon accepted). Devices send
 * the same few pairs all day: most batches cost no query.
 */
export class VersionResolver {
  private readonly known = new Map<string, { value: Resolved; until: number }>();

  constructor(private readonly db: Executor) {}

  async resolve(packageId: string, version: string): Promise<Resolved> {
    const key = `${packageId}\n${version}`;
    const now = Date.now();
    const remembered = this.known.get(key);
    if (remembered && remembered.until > now) return remembered.value;
    const appId = await repo.appIdOfPackage(this.db, packageId);
    let value: Resolved = 'unknown_app';
    if (appId !== null) {
      const code = await repo.versionCodeOf(this.db, appId, version);
      value = code === null ? 'unknown_version' : { appId, versionCode: code };
    }
    // Bounded: a flood of made-up package ids cannot grow it; clearing costs one lookup per pair.
    if (this.known.size >= MAX_REMEMBERED) this.known.clear();
    this.known.set(key, { value, until: now + (typeof value === 'string' ? UNKNOWN_TTL_MS : KNOWN_TTL_MS) });
    return value;
  }
}
