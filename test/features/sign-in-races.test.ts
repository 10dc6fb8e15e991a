import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { takeOverAccount } from '../../src/features/accounts/account-takeover.js';
import { revokeUserRefreshTokens } from '../../src/features/accounts/accounts.repository.js';
import { describeEachDatabase, type TestPortal } from '../support/portal.js';

const PASSWORD = 'the squatter chose this one';

/** Whether a sign-in's answer still gets the squatter in: a refresh (API) or /me (web cookie). */
async function stillIn(p: TestPortal, route: '/v1/auth/login' | '/v1/auth/session', answer: Awaited<ReturnType<TestPortal['app']['inject']>>): Promise<boolean> {
  if (answer.statusCode !== 200) return false;
  if (route === '/v1/auth/login') {
    const refresh = await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: answer.json<{ refresh_token: string }>().refresh_token } });
    return refresh.statusCode === 200;
  }
  const cookie = answer.cookies.find((c) => c.name === 'mosis_session')?.value ?? '';
  return (await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `mosis_session=${cookie}` } })).statusCode === 200;
}

// Both dialects: concurrent transactions, which each dialect isolates differently.
describeEachDatabase('sign-in racing a takeover', (portal) => {
  // The password check takes tens of milliseconds; a takeover (or reset) that commits during it
  // ends every session, and must not miss the one that sign-in is about to start.
  it("a sign-in with the old password that straddles a takeover leaves the squatter no session, API or web", async () => {
    const p = portal();
    let attempt = 0;
    for (const route of ['/v1/auth/login', '/v1/auth/session'] as const) {
      for (const delayMs of [2, 5, 8, 12, 20]) {
        attempt += 1;
        const email = `race-${attempt}-${p.dialect}@example.com`;
        const registered = await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD, name: 'Squatter' } });
        expect(registered.statusCode, registered.body).toBe(202);
        const { id } = await p.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
        const signingIn = p.app.inject({ method: 'POST', url: route, payload: { email, password: PASSWORD } });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        await p.database.db.transaction().execute((trx) => takeOverAccount(trx, id, new Date().toISOString(), { passwordHash: null }));
        const answer = await signingIn;
        expect([200, 401], answer.body).toContain(answer.statusCode);
        expect(await stillIn(p, route, answer), `${route} after ${delayMs} ms answered ${answer.statusCode}`).toBe(false);
      }
    }
  });

  // PostgreSQL runs a refresh and a revocation side by side: a refresh that had rotated its token
  // but not yet committed the new one when "end every session" ran would leave that new token out
  // of the revocation. The test holds the user's row (as a takeover, reset or password change does
  // first) so the refresh is caught mid-way, then revokes every token as they do.
  it('a refresh in flight while every session of the account is ended does not leave a live token', async () => {
    const p = portal();
    const email = `refresh-race-${p.dialect}@example.com`;
    expect((await p.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD, name: 'Squatter' } })).statusCode).toBe(202);
    const signedIn = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const { id } = await p.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let refreshing: Promise<Awaited<ReturnType<TestPortal['app']['inject']>>>;
    if (p.dialect === 'postgres') {
      let release = () => {};
      let locked = () => {};
      const rowLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = p.database.db.transaction().execute(async (trx) => {
        await sql`select id from users where id = ${id} for update`.execute(trx);
        locked();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await rowLocked;
      refreshing = p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: signedIn.json<{ refresh_token: string }>().refresh_token } });
      await sleep(150);
      const ending = p.database.db.transaction().execute((trx) => revokeUserRefreshTokens(trx, id, new Date().toISOString()));
      await sleep(150);
      release();
      await holder;
      await ending;
    } else {
      // SQLite runs write transactions one at a time: the same outcome, without a race to catch.
      refreshing = p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: signedIn.json<{ refresh_token: string }>().refresh_token } });
      await p.database.db.transaction().execute((trx) => revokeUserRefreshTokens(trx, id, new Date().toISOString()));
    }
    const answer = await refreshing;
    expect([200, 401], answer.body).toContain(answer.statusCode);
    expect(await stillIn(p, '/v1/auth/login', answer), `the refresh answered ${answer.statusCode}`).toBe(false);
  });
});
