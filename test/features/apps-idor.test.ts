import { expect, it } from 'vitest';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { imageRows, png, storedBlobs } from '../support/images.js';
import { describeEachDatabase, type TestPortal } from '../support/portal.js';

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  payload?: unknown;
  contentType?: string;
}

/** Every route of this feature that names an app, with a body that the owner could send. */
async function everyRoute(appId: string, screenshotId: string): Promise<Call[]> {
  const image = await png(512, 512, { r: 1, g: 2, b: 3 });
  return [
    { method: 'GET', url: `/v1/apps/${appId}` },
    { method: 'PATCH', url: `/v1/apps/${appId}`, payload: { name: 'Stolen' } },
    { method: 'GET', url: `/v1/apps/${appId}/listings` },
    { method: 'PUT', url: `/v1/apps/${appId}/listings/de`, payload: { name: 'Gestohlen' } },
    { method: 'PUT', url: `/v1/apps/${appId}/listings/fr`, payload: { name: 'Volé' } },
    { method: 'DELETE', url: `/v1/apps/${appId}/listings/de` },
    { method: 'POST', url: `/v1/apps/${appId}/icon`, payload: image, contentType: 'image/png' },
    { method: 'DELETE', url: `/v1/apps/${appId}/icon` },
    { method: 'POST', url: `/v1/apps/${appId}/screenshots`, payload: image, contentType: 'image/png' },
    { method: 'GET', url: `/v1/apps/${appId}/screenshots` },
    { method: 'DELETE', url: `/v1/apps/${appId}/screenshots/${screenshotId}` },
    // Last, so the owner's replay below can run every other call first.
    { method: 'DELETE', url: `/v1/apps/${appId}` },
  ];
}

function send(p: TestPortal, user: TestUser, call: Call) {
  const headers: Record<string, string> = { ...user.auth };
  if (call.contentType) headers['content-type'] = call.contentType;
  return p.app.inject({ method: call.method, url: call.url, headers, ...(call.payload === undefined ? {} : { payload: call.payload as string }) });
}

/** Everything stored about apps, to prove a refused call changed nothing. */
async function snapshot(p: TestPortal) {
  const db = p.database.db;
  return {
    apps: await db.selectFrom('apps').selectAll().orderBy('id').execute(),
    listings: await db.selectFrom('app_listings').selectAll().orderBy('locale').execute(),
    images: await imageRows(p),
    blobs: await storedBlobs(p),
  };
}

describeEachDatabase('apps: owner / other developer matrix', (portal) => {
  it("answers another developer 404 app_not_found on every route of someone else's app and changes nothing", async () => {
    const p = portal();
    const a = await registerUser(p, 'A');
    const b = await registerUser(p, 'B');
    const app = await createApp(p, a, 'com.example.secret');
    await createApp(p, b, 'com.example.mine');
    expect((await send(p, a, { method: 'PUT', url: `/v1/apps/${app.id}/listings/de`, payload: { name: 'Geheim' } })).statusCode).toBe(201);
    expect((await send(p, a, { method: 'POST', url: `/v1/apps/${app.id}/icon`, payload: await png(256, 256), contentType: 'image/png' })).statusCode).toBe(200);
    const shot = await send(p, a, { method: 'POST', url: `/v1/apps/${app.id}/screenshots`, payload: await png(640, 480), contentType: 'image/png' });
    expect(shot.statusCode, shot.body).toBe(201);
    const before = await snapshot(p);
    const missing = await send(p, b, { method: 'GET', url: '/v1/apps/no-such-app' });
    const routes = await everyRoute(app.id, shot.json().id);

    for (const call of routes) {
      const res = await send(p, b, call);
      const body = expectProblem(res, 404, 'app_not_found');
      // Indistinguishable from an app that does not exist.
      expect(body['detail'], `${call.method} ${call.url}`).toBe(missing.json().detail);
    }
    expect(await snapshot(p)).toEqual(before);

    // The same calls by the owner succeed, so the matrix is not vacuous.
    for (const call of routes) {
      const res = await send(p, a, call);
      expect(res.statusCode, `${call.method} ${call.url}: ${res.body}`).toBeLessThan(300);
    }
    expect(await p.database.db.selectFrom('apps').select('owner_id').execute()).toEqual([{ owner_id: b.id }]);
  });

  it('lets an apps:read API key read but refuses every write (403 insufficient_scope) and changes nothing', async () => {
    const p = portal();
    const a = await registerUser(p, 'A');
    const app = await createApp(p, a, 'com.example.notes');
    const shot = await send(p, a, { method: 'POST', url: `/v1/apps/${app.id}/screenshots`, payload: await png(640, 480), contentType: 'image/png' });
    expect(shot.statusCode, shot.body).toBe(201);
    const created = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: a.auth, payload: { name: 'ci', scopes: ['apps:read'] } });
    expect(created.statusCode, created.body).toBe(201);
    const reader: TestUser = { ...a, auth: { authorization: `Bearer ${created.json().key}` } };
    const before = await snapshot(p);
    for (const call of await everyRoute(app.id, shot.json().id)) {
      const res = await send(p, reader, call);
      if (call.method === 'GET') expect(res.statusCode, `${call.method} ${call.url}: ${res.body}`).toBe(200);
      else expectProblem(res, 403, 'insufficient_scope');
    }
    expect(await snapshot(p)).toEqual(before);
  });
});
