import { SignJWT } from 'jose';
import { expect, it } from 'vitest';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { describeEachDatabase, describeOnSqlite } from '../support/portal.js';

// Both dialects: a unique email, and two concurrent refreshes racing for one token.
describeEachDatabase('accounts', (portal) => {
  it('registers a developer without starting a session; the account then signs in; /auth/me shows it', async () => {
    const p = portal();
    const res = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'Ada@Example.com', password: PASSWORD, name: 'Ada' } });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ accepted: true });
    expect(res.cookies).toEqual([]);
    const login = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'ada@example.com', password: PASSWORD } });
    expect(login.statusCode, login.body).toBe(200);
    const body = login.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, user: { email: 'ada@example.com', name: 'Ada', role: 'developer', email_verified: false, totp_enabled: false } });
    expect(body.refresh_token).toMatch(/^mrt_/);
    const me = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${body.access_token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual(body.user);
  });

  it('answers sign-up with a taken email exactly like a new one, and leaves the account as it was', async () => {
    const p = portal();
    const first = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'a@example.com', password: PASSWORD, name: 'A' } });
    const row = () => p.database.db.selectFrom('users').selectAll().execute();
    const before = await row();
    const again = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'A@EXAMPLE.com', password: 'another long password', name: 'B' } });
    expect(again.statusCode).toBe(first.statusCode);
    expect(again.body).toBe(first.body);
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(await row()).toEqual(before);
    expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@example.com', password: 'another long password' } }), 401, 'invalid_credentials');
    const audit = await p.database.db.selectFrom('audit_log').select(['action', 'target_id']).where('action', '=', 'register.email_taken').execute();
    expect(audit).toEqual([{ action: 'register.email_taken', target_id: before[0]?.id }]);
  });

  it('logs in with the right password; a wrong password and an unknown email answer the same', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const ok = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user.id).toBe(dev.id);
    const wrong = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: 'wrong password here' } });
    const unknown = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'nobody@example.com', password: 'wrong password here' } });
    const a = expectProblem(wrong, 401, 'invalid_credentials');
    const b = expectProblem(unknown, 401, 'invalid_credentials');
    expect(a['detail']).toBe(b['detail']);
  });

  it('rotates refresh tokens, and reuse of a rotated one revokes the whole family', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const first = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } });
    expect(first.statusCode, first.body).toBe(200);
    const next = first.json().refresh_token as string;
    expect(next).not.toBe(dev.refreshToken);

    const reuse = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } });
    expectProblem(reuse, 401, 'invalid_refresh_token');
    // The family is gone: even the legitimate newest token no longer works.
    const after = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: next } });
    expectProblem(after, 401, 'invalid_refresh_token');
  });

  it('lets at most one of two concurrent refreshes with one token succeed', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const results = await Promise.all(
      [1, 2].map(() => p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } })),
    );
    expect(results.filter((r) => r.statusCode === 200).length).toBeLessThanOrEqual(1);
  });
});

// SQLite alone: the hash, the password policy, the token signatures and JWKS, and what reaches the
// logs are the same whichever database keeps the rows.
describeOnSqlite('accounts', (portal) => {
  it('stores an argon2id hash, never the password', async () => {
    const p = portal();
    await registerUser(p);
    const row = await p.database.db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('refuses short and huge passwords before hashing, storing nothing', async () => {
    const p = portal();
    const short = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'a@example.com', password: 'short', name: 'A' } });
    expectProblem(short, 422, 'password_policy');
    const huge = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'a@example.com', password: 'p'.repeat(900_000), name: 'A' } });
    expect([400, 413]).toContain(huge.statusCode);
    expect(await p.database.db.selectFrom('users').select('id').execute()).toHaveLength(0);
  });

  it('refuses tampered, unsigned and foreign access tokens', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const [header, payload] = dev.accessToken.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(dev.id)
      .setIssuer(p.config.baseUrl)
      .setAudience('mosis-portal')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('secret'));
    const tamperedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), role: 'admin' })).toString('base64url');
    for (const token of [none, forged, `${header}.${tamperedPayload}.${dev.accessToken.split('.')[2]}`, 'garbage']) {
      const res = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${token}` } });
      expectProblem(res, 401, 'unauthorized');
    }
  });

  it('publishes the access-token public keys as a JWKS', async () => {
    const res = await portal().app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const { keys } = res.json();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) });
    expect(keys[0].d).toBeUndefined();
  });

  it('keeps passwords and tokens out of the logs', async () => {
    const p = portal();
    const dev = await registerUser(p);
    await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: dev.email, password: PASSWORD } });
    await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth });
    const logs = p.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(dev.accessToken);
    expect(logs).not.toContain(dev.refreshToken);
  });
});
