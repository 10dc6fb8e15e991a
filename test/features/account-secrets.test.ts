import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { totpCode } from '../../src/features/accounts/totp.js';
import { sha256Hex } from '../../src/shared/index.js';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { enableTotp, TestClock } from '../support/accounts.js';
import { describeEachDatabase, describeOnSqlite, prepareDatabase, startPortal, type TestDialect, type TestPortal } from '../support/portal.js';

let clock: TestClock;

const normalize = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

async function login(p: TestPortal, email: string, totp: string) {
  return p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD, totp_code: totp } });
}

async function secretRow(p: TestPortal, id: string) {
  return p.database.db.selectFrom('users').select(['totp_secret', 'totp_pending_secret']).where('id', '=', id).executeTakeFirstOrThrow();
}

async function codeHashes(p: TestPortal, userId: string): Promise<string[]> {
  return (await p.database.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).orderBy('id').execute()).map((r) => r.code_hash);
}

/** What rows written before sealing and keyed hashing looked like: the base32 secret and plain SHA-256 hashes. */
async function makeLegacy(p: TestPortal, userId: string, secret: string, codes: string[]): Promise<void> {
  await p.database.db.updateTable('users').set({ totp_secret: secret }).where('id', '=', userId).execute();
  await p.database.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await p.database.db
    .insertInto('recovery_codes')
    .values(codes.map((c, i) => ({ id: `legacy-${userId}-${i}`, user_id: userId, code_hash: sha256Hex(normalize(c)), used_at: null, created_at: clock.now().toISOString() })))
    .execute();
}

// Both dialects: the upgrade of secrets stored before sealing finds them with LIKE queries.
describeEachDatabase(
  'accounts: TOTP secrets and recovery codes at rest',
  (portal) => {
    it('keeps plaintext secrets and plain SHA-256 recovery codes from before working, and upgrades them', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { secret, recoveryCodes } = await enableTotp(p, dev, clock);
      await makeLegacy(p, dev.id, secret, recoveryCodes);

      // Used as they are: the secret is sealed on its first use, a spent code needs nothing more.
      clock.advance(30_000);
      expect((await login(p, dev.email, totpCode(secret, clock.now()))).statusCode).toBe(200);
      expect((await secretRow(p, dev.id)).totp_secret).toMatch(/^enc1:/);
      expect((await login(p, dev.email, recoveryCodes[0] ?? '')).statusCode).toBe(200);

      // The start-up upgrade seals and rehashes whatever is left.
      await makeLegacy(p, dev.id, secret, recoveryCodes.slice(1));
      await p.database.db.updateTable('users').set({ totp_pending_secret: 'JBSWY3DPEHPK3PXP' }).where('id', '=', dev.id).execute();
      expect(await p.core.twoFactor.upgradeStoredSecrets()).toEqual({ totpSecrets: 2, recoveryCodes: 9 });
      expect(await p.core.twoFactor.upgradeStoredSecrets()).toEqual({ totpSecrets: 0, recoveryCodes: 0 });
      const row = await secretRow(p, dev.id);
      expect(row.totp_secret).toMatch(/^enc1:/);
      expect(row.totp_pending_secret).toMatch(/^enc1:/);
      expect((await codeHashes(p, dev.id)).every((h) => h.startsWith('k1:'))).toBe(true);
      clock.advance(30_000);
      expect((await login(p, dev.email, totpCode(secret, clock.now()))).statusCode).toBe(200);
      expect((await login(p, dev.email, recoveryCodes[1] ?? '')).statusCode).toBe(200);
      expectProblem(await login(p, dev.email, recoveryCodes[0] ?? ''), 401, 'invalid_totp_code');
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

// SQLite alone: sealing, opening and keyed hashing are the same whichever database keeps the bytes.
describeOnSqlite(
  'accounts: TOTP secrets and recovery codes at rest',
  (portal) => {
    it('stores the TOTP secret sealed and recovery codes as a keyed hash; both still sign in', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const setup = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers: dev.auth });
      const pending = setup.json<{ secret: string }>().secret;
      expect((await secretRow(p, dev.id)).totp_pending_secret).toMatch(/^enc1:/);
      expect(JSON.stringify(await secretRow(p, dev.id))).not.toContain(pending);

      const { secret, recoveryCodes } = await enableTotp(p, dev, clock);
      const row = await secretRow(p, dev.id);
      expect(row.totp_secret).toMatch(/^enc1:/);
      expect(row.totp_secret).not.toContain(secret);
      const hashes = await codeHashes(p, dev.id);
      expect(hashes).toHaveLength(10);
      for (const code of recoveryCodes) {
        expect(hashes).not.toContain(sha256Hex(normalize(code)));
        expect(hashes.join()).not.toContain(normalize(code));
      }
      expect(hashes.every((h) => /^k1:[0-9a-f]{64}$/.test(h))).toBe(true);

      clock.advance(30_000);
      expect((await login(p, dev.email, totpCode(secret, clock.now()))).statusCode).toBe(200);
      expect((await login(p, dev.email, recoveryCodes[3] ?? '')).statusCode).toBe(200);
      expectProblem(await login(p, dev.email, recoveryCodes[3] ?? ''), 401, 'invalid_totp_code');
      const audit = await p.database.db.selectFrom('audit_log').select('details').where('action', '=', 'recovery_code.used').where('target_id', '=', dev.id).execute();
      expect(audit.map((a) => JSON.parse(a.details))).toEqual([{ remaining: 9 }]);

      // The key lives in DATA_DIR, readable by the portal's user only.
      const keyFile = path.join(p.dataDir, 'secrets', 'account-secrets.key');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect(Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64')).toHaveLength(32);
    });

    it("does not open a sealed secret copied onto another user's row", async () => {
      const p = portal();
      const victim = await registerUser(p, 'Victim');
      const { secret } = await enableTotp(p, victim, clock);
      const intruder = await registerUser(p, 'Intruder');
      await enableTotp(p, intruder, clock);
      const victimRow = await secretRow(p, victim.id);
      await p.database.db.updateTable('users').set({ totp_secret: victimRow.totp_secret }).where('id', '=', intruder.id).execute();
      clock.advance(30_000);
      const res = await login(p, intruder.email, totpCode(secret, clock.now()));
      expect(res.statusCode).toBe(500);
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describe('accounts: SECRETS_KEY for instances sharing one database', () => {
  async function shared(dialect: TestDialect) {
    const db = await prepareDatabase(dialect);
    const secretsKey = randomBytes(32).toString('base64');
    const sharedClock = new TestClock();
    const first = await startPortal(dialect, { DATABASE_URL: db.databaseUrl, SECRETS_KEY: secretsKey }, { clock: sharedClock });
    return { db, secretsKey, sharedClock, first };
  }

  it('lets a second instance with its own DATA_DIR read the secrets the first one sealed', async () => {
    const { db, secretsKey, sharedClock, first } = await shared('sqlite');
    try {
      const dev = await registerUser(first.portal);
      const { secret, recoveryCodes } = await enableTotp(first.portal, dev, sharedClock);
      // With SECRETS_KEY set, no key file is written.
      await expect(stat(path.join(first.portal.dataDir, 'secrets', 'account-secrets.key'))).rejects.toThrow(/ENOENT/);

      const second = await startPortal('sqlite', { DATABASE_URL: db.databaseUrl, SECRETS_KEY: secretsKey }, { clock: sharedClock });
      try {
        expect(second.portal.dataDir).not.toBe(first.portal.dataDir);
        sharedClock.advance(30_000);
        expect((await login(second.portal, dev.email, totpCode(secret, sharedClock.now()))).statusCode).toBe(200);
        expect((await login(second.portal, dev.email, recoveryCodes[0] ?? '')).statusCode).toBe(200);
      } finally {
        await second.stop();
      }

      // An instance with another key cannot open the secrets: it fails loudly, and says why in its log.
      const stranger = await startPortal('sqlite', { DATABASE_URL: db.databaseUrl, SECRETS_KEY: randomBytes(32).toString('base64') }, { clock: sharedClock });
      try {
        sharedClock.advance(30_000);
        expect((await login(stranger.portal, dev.email, totpCode(secret, sharedClock.now()))).statusCode).toBe(500);
        expect(stranger.portal.logs()).toContain('not the key it was sealed with');
        expectProblem(await login(stranger.portal, dev.email, recoveryCodes[1] ?? ''), 401, 'invalid_totp_code');
      } finally {
        await stranger.stop();
      }
    } finally {
      await first.stop();
      await db.cleanup();
    }
  });
});
