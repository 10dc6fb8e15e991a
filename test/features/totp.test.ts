import { expect, it } from 'vitest';
import { totpCode } from '../../src/features/accounts/totp.js';
import { expectProblem, PASSWORD, registerUser, type TestUser } from '../support/api.js';
import { enableTotp, TestClock } from '../support/accounts.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';

let clock: TestClock;

async function login(p: TestPortal, user: TestUser, totp?: string) {
  return p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: PASSWORD, ...(totp === undefined ? {} : { totp_code: totp }) } });
}

async function refreshTokenCount(p: TestPortal): Promise<number> {
  return (await p.database.db.selectFrom('refresh_tokens').select('id').execute()).length;
}

describeOnSqlite(
  'accounts: TOTP two-factor authentication',
  (portal) => {
    it('enrols only with a code from the new secret, then answers ten recovery codes once', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const setup = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers: dev.auth });
      expect(setup.statusCode).toBe(200);
      const { secret, otpauth_url } = setup.json<{ secret: string; otpauth_url: string }>();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(otpauth_url).toMatch(/^otpauth:\/\/totp\/.*secret=/);

      const wrong = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/enable', headers: dev.auth, payload: { code: '000000' === totpCode(secret, clock.now()) ? '111111' : '000000', password: PASSWORD } });
      // A wrong code is wrong credentials here as at sign-in: one status for the code everywhere.
      expectProblem(wrong, 401, 'invalid_totp_code');
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).json().totp_enabled).toBe(false);

      const enable = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/enable', headers: dev.auth, payload: { code: totpCode(secret, clock.now()), password: PASSWORD } });
      expect(enable.statusCode, enable.body).toBe(200);
      const codes = enable.json<{ recovery_codes: string[] }>().recovery_codes;
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).json().totp_enabled).toBe(true);
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/setup', headers: dev.auth }), 409, 'totp_already_enabled');
      const stored = await p.database.db.selectFrom('recovery_codes').select('code_hash').execute();
      expect(JSON.stringify(stored)).not.toContain(codes[0]);
    });

    it('asks for the code at login and never accepts a used code twice', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { secret } = await enableTotp(p, dev, clock);
      const before = await refreshTokenCount(p);

      expectProblem(await login(p, dev), 401, 'totp_required');
      // The enrolment code's step is spent.
      expectProblem(await login(p, dev, totpCode(secret, clock.now())), 401, 'invalid_totp_code');
      expect(await refreshTokenCount(p)).toBe(before);

      clock.advance(30_000);
      const code = totpCode(secret, clock.now());
      expect((await login(p, dev, code)).statusCode).toBe(200);
      expectProblem(await login(p, dev, code), 401, 'invalid_totp_code');
      expect(await refreshTokenCount(p)).toBe(before + 1);

      // One step of skew is allowed; two are not.
      clock.advance(30_000);
      expect((await login(p, dev, totpCode(secret, new Date(clock.now().getTime() + 30_000)))).statusCode).toBe(200);
      clock.advance(90_000);
      expectProblem(await login(p, dev, totpCode(secret, new Date(clock.now().getTime() - 60_000))), 401, 'invalid_totp_code');
      expect(await refreshTokenCount(p)).toBe(before + 2);
    });

    it('accepts each recovery code once', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { recoveryCodes } = await enableTotp(p, dev, clock);
      const [first, second] = recoveryCodes;
      expect((await login(p, dev, first)).statusCode).toBe(200);
      const before = await refreshTokenCount(p);
      expectProblem(await login(p, dev, first), 401, 'invalid_totp_code');
      expectProblem(await login(p, dev, 'aaaaa-bbbbb'), 401, 'invalid_totp_code');
      expect(await refreshTokenCount(p)).toBe(before);
      expect((await login(p, dev, second?.toUpperCase())).statusCode).toBe(200);
      const used = await p.database.db.selectFrom('recovery_codes').select('id').where('used_at', 'is not', null).execute();
      expect(used).toHaveLength(2);
    });

    it('turns off only with the password and a fresh code', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { secret } = await enableTotp(p, dev, clock);
      clock.advance(30_000);
      const code = totpCode(secret, clock.now());
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/disable', headers: dev.auth, payload: { code, password: 'not my password' } }), 401, 'invalid_credentials');
      expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/disable', headers: dev.auth, payload: { code: '123456' === code ? '654321' : '123456', password: PASSWORD } }), 401, 'invalid_totp_code');
      expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).json().totp_enabled).toBe(true);
      const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/2fa/disable', headers: dev.auth, payload: { code, password: PASSWORD } });
      expect(ok.statusCode).toBe(204);
      expect((await login(p, dev)).statusCode).toBe(200);
      expect(await p.database.db.selectFrom('recovery_codes').select('id').execute()).toHaveLength(0);
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);

describeOnSqlite('accounts: 2FA policy is configurable', (portal) => {
  it('with REQUIRE_2FA_ROLES=none an admin without TOTP may use admin routes', async () => {
    const strict = portal();
    const admin = await registerUser(strict);
    await strict.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.id).execute();
    expectProblem(await strict.app.inject({ method: 'GET', url: '/v1/admin/users', headers: admin.auth }), 403, 'two_factor_required');

    const relaxed = await startPortal(strict.dialect, { REQUIRE_2FA_ROLES: 'none' });
    try {
      const other = await registerUser(relaxed.portal);
      await relaxed.portal.database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', other.id).execute();
      expect((await relaxed.portal.app.inject({ method: 'GET', url: '/v1/admin/users', headers: other.auth })).statusCode).toBe(200);
    } finally {
      await relaxed.stop();
    }
  });
});
