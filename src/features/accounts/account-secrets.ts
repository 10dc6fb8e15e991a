import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Sealed values start with this; a TOTP secret is base32 and never contains a colon. */
export const SEALED_PREFIX = 'enc1:';
/** Keyed recovery-code hashes start with this; the older plain SHA-256 hashes are bare hex. */
export const KEYED_PREFIX = 'k1:';

/**
 * The server secret that protects account secrets at rest: TOTP secrets are sealed with
 * AES-256-GCM and recovery codes are stored as HMAC-SHA-256, each with its own key derived
 * (HKDF) from one 32-byte master key. A copy of the database alone then reveals neither.
 *
 * The master key is SECRETS_KEY when set (base64 of 32 bytes: what several instances sharing one
 * PostgreSQL database must all be given), otherwise DATA_DIR/secrets/account-secrets.key, created
 * with mode 0600 on first start.
 */
export class AccountSecrets {
  private constructor(
    private readonly sealKey: Buffer,
    private readonly hashKey: Buffer,
    private readonly derive: (purpose: string) => Buffer,
  ) {}

  static fromKey(master: Buffer): AccountSecrets {
    if (master.length !== KEY_BYTES) throw new Error(`the account secrets key must be ${KEY_BYTES} bytes, not ${master.length}`);
    const derive = (purpose: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `mosis-portal ${purpose} v1`, KEY_BYTES));
    return new AccountSecrets(derive('totp-secret'), derive('recovery-code'), derive);
  }

  /**
   * A seal for another kind of secret at rest (mail in the job queue: it holds email tokens), with
   * a key of its own derived from the same master key: one key for the operator to keep, and a
   * value sealed for one purpose never opens for another. Unlike `open`, it opens sealed values only.
   */
  sealer(purpose: string): Sealer {
    const key = this.derive(purpose);
    return {
      seal: (plaintext, context) => sealWith(key, plaintext, context),
      open: (sealed, context) => {
        if (!sealed.startsWith(SEALED_PREFIX)) throw new Error(`a ${purpose} value is not sealed`);
        return openWith(key, sealed, context);
      },
    };
  }

  /** The configured key (base64), or the key file in DATA_DIR, made on first start. */
  static async open(dataDir: string, configuredKey: string | null): Promise<AccountSecrets> {
    if (configuredKey !== null) return AccountSecrets.fromKey(Buffer.from(configuredKey, 'base64'));
    return AccountSecrets.fromKey(await readOrCreateKeyFile(keyFile(dataDir)));
  }

  /**
   * Seals a value. `context` (the user id, say) is bound in as associated data, so a sealed value
   * copied onto another row does not open there.
   */
  seal(plaintext: string, context: string): string {
    return sealWith(this.sealKey, plaintext, context);
  }

  /** Opens a sealed value; a value from before sealing (no prefix) is answered as it is. */
  open(stored: string, context: string): string {
    if (!this.isSealed(stored)) return stored;
    return openWith(this.sealKey, stored, context);
  }

  isSealed(stored: string): boolean {
    return stored.startsWith(SEALED_PREFIX);
  }

  /** HMAC-SHA-256 of a value under the server key: without the key, a stored hash cannot be brute-forced. */
  keyedHash(value: string): string {
    return KEYED_PREFIX + createHmac('sha256', this.hashKey).update(value).digest('hex');
  }

  isKeyedHash(stored: string): boolean {
    return stored.startsWith(KEYED_PREFIX);
  }
}

/** Seals and opens one kind of secret; see AccountSecrets.sealer. */
export interface Sealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

function sealWith(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

function openWith(key: Buffer, stored: string, context: string): string {
  const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    // Not a user's mistake: the key differs from the one the value was sealed with.
    throw new Error('cannot open a sealed account secret: SECRETS_KEY (or DATA_DIR/secrets/account-secrets.key) is not the key it was sealed with', { cause: err });
  }
}

/** Where the key lives when SECRETS_KEY is not set. */
export function keyFile(dataDir: string): string {
  return path.join(dataDir, 'secrets', 'account-secrets.key');
}

async function readOrCreateKeyFile(file: string): Promise<Buffer> {
  const existing = await readKey(file);
  if (existing) return existing;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written aside, then hard-linked into place: link fails if the file exists, so two instances
  // starting at once on one DATA_DIR agree on the first key and nobody reads a half-written file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flush: true });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  const key = await readKey(file);
  if (!key) throw new Error(`cannot read the account secrets key at ${file}`);
  return key;
}

async function readKey(file: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the account secrets key at ${file}: ${(err as Error).message}`, { cause: err });
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`the account secrets key at ${file} is not ${KEY_BYTES} bytes of base64; restore it from a backup`);
  return key;
}
