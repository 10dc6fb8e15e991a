import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { fingerprint, rawPublicKey, signEd25519Stream, signStoreVersion, type StoreSignedVersion } from '../../package/index.js';
import type { Clock } from '../../shared/index.js';
import { createPrivateJson, readPrivateJson, writePrivateJson } from '../../storage/index.js';

interface StoredStoreKey {
  /** The fingerprint: lowercase hex SHA-256 of the raw public key (as for developer keys). */
  key_id: string;
  created_at: string;
  /** Set when a newer key took over signing; it stays published so what it signed still verifies. */
  retired_at?: string;
  private_jwk: JsonWebKey;
}

interface LoadedKey {
  stored: StoredStoreKey;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** One public key as /.well-known/mosis-store-keys.json lists it. */
export interface PublishedStoreKey {
  key_id: string;
  alg: 'Ed25519';
  /** Base64 of the raw 32-byte Ed25519 public key. */
  public_key: string;
  /** True for the key that signs new versions; older keys only verify. */
  active: boolean;
  created_at: string;
  retired_at: string | null;
}

export interface StoreSignature {
  key_id: string;
  /** Base64 of the 64-byte Ed25519 signature (PACKAGE.md, "Store signature"). */
  signature: string;
}

// A running server picks up a key added by `rotate-keys --store` this often.
const RELOAD_INTERVAL_MS = 5_000;

/**
 * The store's Ed25519 keys, in DATA_DIR/keys/store-keys.json (mode 0600), made on first start. The
 * newest key signs approved versions; every key stays published, because devices verify the
 * signature of whatever they install, however old, against the published list.
 */
export class StoreKeys {
  private lastReload = Date.now();
  private publishedList: PublishedStoreKey[] = [];
  private publishedFor: LoadedKey[] | null = null;

  private constructor(
    private keys: LoadedKey[],
    private readonly file: string,
  ) {}

  static async open(dataDir: string, clock: Clock): Promise<StoreKeys> {
    const file = keyFile(dataDir);
    let stored = await readKeys(file);
    if (stored.length === 0) {
      // The first start makes the key; of instances starting at once on one DATA_DIR, one wins
      // and the others read its key.
      await createPrivateJson(file, { keys: [newKey(clock)] });
      stored = await readKeys(file);
    }
    return new StoreKeys(stored.map(load), file);
  }

  /** Adds a key that signs from now on; the previous ones stay published for verification. */
  static async rotate(dataDir: string, clock: Clock): Promise<{ keyId: string; published: number }> {
    const file = keyFile(dataDir);
    const now = clock.now().toISOString();
    const stored = (await readKeys(file)).map((k) => (k.retired_at === undefined ? { ...k, retired_at: now } : k));
    const fresh = newKey(clock);
    await writePrivateJson(file, { keys: [...stored, fresh] });
    return { keyId: fresh.key_id, published: stored.length + 1 };
  }

  /** Signs a version with the newest key. */
  async sign(version: StoreSignedVersion): Promise<StoreSignature> {
    await this.reload();
    const key = this.keys.at(-1);
    if (!key) throw new Error('no store signing key');
    return { key_id: key.stored.key_id, signature: signStoreVersion(key.privateKey, version) };
  }

  /**
   * Signs a file (the signed store index) with the newest key, over its exact bytes, reading it
   * twice as a stream: Ed25519 over hundreds of megabytes without holding them.
   */
  async signFile(file: string): Promise<StoreSignature> {
    await this.reload();
    const key = this.keys.at(-1);
    if (!key) throw new Error('no store signing key');
    const signature = await signEd25519Stream(key.privateKey, () => createReadStream(file, { highWaterMark: 1 << 20 }));
    return { key_id: key.stored.key_id, signature: signature.toString('base64') };
  }

  /** Every key, oldest first, the signing one marked active; made once per set of keys (devices ask often). */
  async published(): Promise<PublishedStoreKey[]> {
    await this.reload();
    if (this.publishedFor !== this.keys) {
      const newest = this.keys.at(-1);
      this.publishedList = this.keys.map((k) => ({
        key_id: k.stored.key_id,
        alg: 'Ed25519',
        public_key: rawPublicKey(k.publicKey).toString('base64'),
        active: k === newest,
        created_at: k.stored.created_at,
        retired_at: k.stored.retired_at ?? null,
      }));
      this.publishedFor = this.keys;
    }
    return this.publishedList;
  }

  private async reload(): Promise<void> {
    const now = Date.now();
    if (now - this.lastReload < RELOAD_INTERVAL_MS) return;
    this.lastReload = now;
    const stored = await readKeys(this.file);
    if (stored.length > 0) this.keys = stored.map(load);
  }
}

function keyFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'store-keys.json');
}

function newKey(clock: Clock): StoredStoreKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { key_id: fingerprint(publicKey), created_at: clock.now().toISOString(), private_jwk: privateKey.export({ format: 'jwk' }) };
}

function load(stored: StoredStoreKey): LoadedKey {
  const privateKey = createPrivateKey({ key: stored.private_jwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  // A hand-edited file must not publish one key under another's id.
  if (fingerprint(publicKey) !== stored.key_id) throw new Error(`store key ${stored.key_id} does not match its private key`);
  return { stored, privateKey, publicKey };
}

async function readKeys(file: string): Promise<StoredStoreKey[]> {
  const parsed = await readPrivateJson<{ keys?: StoredStoreKey[] }>(file, 'the store signing keys');
  return parsed?.keys ?? [];
}
