import { expect, it } from 'vitest';
import { expectProblem, PASSWORD, registerUser } from '../support/api.js';
import { describeEachDatabase, startPortal, type TestPortal } from '../support/portal.js';

async function webLogin(p: TestPortal, email: string) {
  const res = await p.app.inject({ method: 'POST', url: '/v1/auth/session', payload: { email, password: PASSWORD } });
  expect(res.statusCode, res.body).toBe(200);
  const session = res.cookies.find((c) => c.name === 'mosis_session');
  const csrfCookie = res.cookies.find((c) => c.name === 'mosis_csrf');
  return { res, session, csrfCookie, cookie: `mosis_session=${session?.value ?? ''}`, csrf: res.json<{ csrf_token: string }>().csrf_token };
}

describeEachDatabase('accounts: web UI sessions', (portal) => {
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

  it('marks the cookies Secure when BASE_URL is https', async () => {
    const p = portal();
    const secure = await startPortal(p.dialect, { BASE_URL: 'https://portal.example.com' });
    try {
      const dev = await registerUser(secure.portal);
      const { session, csrfCookie } = await webLogin(secure.portal, dev.email);
      expect(session?.secure).toBe(true);
      expect(csrfCookie?.secure).toBe(true);
    } finally {
      await secure.stop();
    }
  });
});
