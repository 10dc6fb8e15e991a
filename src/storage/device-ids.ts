import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { createPrivateJson, readPrivateJson } from './private-file.js';

/**
 * Device ids are never stored: what the portal keeps (download marks, and telemetry later) is an
 * HMAC-SHA256 of the id under a secret made on first start in DATA_DIR/keys/device-ids.json (0600).
 * Without the secret a stored hash cannot be tied back to a device by hashing candidate ids.
 */
export class DeviceIds {
  private constructor(private readonly key: Buffer) {}

  static async open(dataDir: string): Promise<DeviceIds> {
    const file = path.join(dataDir, 'keys', 'device-ids.json');
    let stored = await readPrivateJson<{ key?: string }>(file, 'the device id key');
    if (!stored?.key) {
      // Of instances starting at once on one DATA_DIR, one writes the key and the others read it.
      await createPrivateJson(file, { key: randomBytes(32).toString('base64') });
      stored = await readPrivateJson<{ key?: string }>(file, 'the device id key');
    }
    const key = Buffer.from(stored?.key ?? '', 'base64');
    if (key.length < 32) throw new Error(`the device id key at ${file} is not 32 bytes of base64`);
    return new DeviceIds(key);
  }

  /** The keyed hash of a device id (or of another identifier, such as an IP, given its own prefix). */
  hash(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64url').slice(0, 32);
  }
}
