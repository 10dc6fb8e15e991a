import { expect, it } from 'vitest';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { TestClock } from '../support/accounts.js';
import { describeOnSqlite, startPortal, type TestPortal } from '../support/portal.js';

async function webLogin(p: TestPortal, email: string) {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email, password: PASSWORD } });
  expect(res.statusCode, res.body).toBe(200);
  const session = res.cookies.find((c) => c.name === 'mosis_session');
  const csrfCookie = res.cookies.find((c) => c.name === 'mosis_csrf');
  return { res, session, csrfCookie, cookie: `mosis_session=${session?.value ?? ''}`, csrf: res.json<{ csrf_token: string }>().csrf_token };
}

describeOnSqlite('accounts: web UI sessions', (portal) => {
  it('sets an httpOnly SameSite=Lax session cookie and a readable CSRF cookie', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const { res, session, csrfCookie, csrf } = await webLogin(p, dev.email);
    expect(res.json().user.id).toBe(dev.id);
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(session?.secure).toBeFalsy();
    expect(csrfCookie?.httpOnly).toBeFalsy();
    expect(csrfCookie?.value).toBe(csrf);
    const rows = await p.database.db.selectFrom('web_sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(session?.value);
    expect(JSON.stringify(rows)).not.toContain(csrf);
  });

  it('reads with the cookie alone, but refuses cookie writes without the right CSRF token', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const { cookie, csrf } = await webLogin(p, dev.email);
    const me = await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json().id).toBe(dev.id);

    const payload = { package_id: 'com.example.web', name: 'Web' };
    expectProblem(await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { cookie }, payload }), 403, 'csrf_failed');
    expectProblem(await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { cookie, 'x-csrf-token': 'forged' }, payload }), 403, 'csrf_failed');
    expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);

    // Another session's CSRF token does not fit this one.
    const other = await webLogin(p, dev.email);
    expectProblem(await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { cookie, 'x-csrf-token': other.csrf }, payload }), 403, 'csrf_failed');
    expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);

    const ok = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { cookie, 'x-csrf-token': csrf }, payload });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('logs out of the web session: the cookie stops working and is cleared', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const { cookie, csrf } = await webLogin(p, dev.email);
    expectProblem(await p.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie } }), 403, 'csrf_failed');
    expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } })).statusCode).toBe(200);
    const out = await p.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'mosis_session')?.value).toBe('');
    expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } }), 401, 'unauthorized');
    // Tokens from the API sign-in are a different session and stay.
    expect((await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: dev.auth })).statusCode).toBe(200);
  });

  it('refuses a made-up session cookie', async () => {
    const p = portal();
    expectProblem(await p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: 'mosis_session=mws_made_up' } }), 401, 'unauthorized');
  });

  it('names the cookies without a prefix over plain http', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const { res } = await webLogin(p, dev.email);
    expect(res.cookies.map((c) => c.name).sort()).toEqual(['mosis_csrf', 'mosis_session']);
  });

  it('uses __Host- cookies (Secure, Path=/, no Domain) when BASE_URL is https, and only those', async () => {
    const p = portal();
    const secure = await startPortal(p.dialect, { BASE_URL: 'https://portal.example.com' });
    try {
      const sp = secure.portal;
      const dev = await registerUser(sp);
      const res = await sp.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email: dev.email, password: PASSWORD } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.cookies.map((c) => c.name).sort()).toEqual(['__Host-mosis_csrf', '__Host-mosis_session']);
      for (const c of res.cookies) {
        expect(c).toMatchObject({ secure: true, path: '/', sameSite: 'Lax' });
        expect(c.domain).toBeUndefined();
      }
      const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      expect(setCookies.every((h) => /; Secure/.test(h) && /; Path=\//.test(h) && !/Domain=/i.test(h))).toBe(true);
      const value = res.cookies.find((c) => c.name === '__Host-mosis_session')?.value ?? '';
      const csrf = res.json<{ csrf_token: string }>().csrf_token;
      expect(res.cookies.find((c) => c.name === '__Host-mosis_csrf')?.value).toBe(csrf);

      expect((await sp.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `__Host-mosis_session=${value}` } })).statusCode).toBe(200);
      // The unprefixed name is what a sibling subdomain could plant: over https it is not read.
      expectProblem(await sp.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `mosis_session=${value}` } }), 401, 'unauthorized');

      const out = await sp.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie: `__Host-mosis_session=${value}`, 'x-csrf-token': csrf } });
      expect(out.statusCode).toBe(204);
      expect(out.cookies.find((c) => c.name === '__Host-mosis_session')).toMatchObject({ value: '', secure: true, path: '/' });
      expectProblem(await sp.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `__Host-mosis_session=${value}` } }), 401, 'unauthorized');
    } finally {
      await secure.stop();
    }
  });
});

let clock: TestClock;

describeOnSqlite(
  'accounts: web sessions end when left unused',
  (portal) => {
    const minute = 60_000;
    async function lastSeen(p: TestPortal) {
      return (await p.database.db.selectFrom('web_sessions').select(['last_seen_at', 'revoked_at']).executeTakeFirstOrThrow());
    }

    it('ends a session unused for longer than WEB_SESSION_IDLE_MINUTES (60); use keeps it going', async () => {
      const p = portal();
      const dev = await registerUser(p);
      const { cookie, csrf } = await webLogin(p, dev.email);
      const me = () => p.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });

      clock.advance(59 * minute);
      expect((await me()).statusCode).toBe(200);
      const touched = (await lastSeen(p)).last_seen_at;
      expect(touched).toBe(clock.now().toISOString());
      // Within a minute of the last write, a request does not write again.
      clock.advance(30_000);
      expect((await me()).statusCode).toBe(200);
      expect((await lastSeen(p)).last_seen_at).toBe(touched);
      clock.advance(58 * minute);
      expect((await me()).statusCode).toBe(200);
      // Two hours after the sign-in, still going: the timeout slides with use.
      clock.advance(60 * minute + 1000);
      const write = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { cookie, 'x-csrf-token': csrf }, payload: { package_id: 'com.example.idle', name: 'Idle' } });
      expectProblem(write, 401, 'unauthorized');
      expect(await p.database.db.selectFrom('apps').select('id').execute()).toHaveLength(0);
      expect((await lastSeen(p)).revoked_at).not.toBeNull();
      // Ended for good: coming back at once does not revive it.
      clock.advance(-30 * minute);
      expectProblem(await me(), 401, 'unauthorized');
      // API tokens have their own lifetimes and are not affected.
      expect((await p.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: dev.refreshToken } })).statusCode).toBe(200);
    });

    it('takes the idle limit from WEB_SESSION_IDLE_MINUTES', async () => {
      const p = portal();
      const short = await startPortal(p.dialect, { WEB_SESSION_IDLE_MINUTES: '5' }, { clock });
      try {
        const dev = await registerUser(short.portal);
        const { cookie } = await webLogin(short.portal, dev.email);
        clock.advance(4 * minute);
        expect((await short.portal.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } })).statusCode).toBe(200);
        clock.advance(5 * minute + 1000);
        expectProblem(await short.portal.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } }), 401, 'unauthorized');
      } finally {
        await short.stop();
      }
    });
  },
  {
    deps: () => {
      clock = new TestClock();
      return { clock };
    },
  },
);
