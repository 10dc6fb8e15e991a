import { expect, it } from 'vitest';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { newDeveloperKey } from '../support/packages.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';

async function entries(p: TestPortal, action: string) {
  const rows = await p.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

const registerKey = (p: TestPortal, user: TestUser, publicKey: string) =>
  p.app.inject({ method: 'POST', url: '/v1/signing-keys', headers: user.auth, payload: { name: 'laptop', public_key: publicKey } });

// Both dialects: a public key is unique per developer while active (a partial unique index), and denials are counted per window.
describeEachDatabase('audit of keys, apps and denied access', (portal) => {
  it('lets a second developer register a public key another has registered: squatting blocks nobody', async () => {
    const p = portal();
    const [owner, squatter] = [await registerUser(p, 'Owner'), await registerUser(p, 'Squatter')];
    const key = newDeveloperKey();
    // The squatter registers the owner's public key first; the owner can still register it.
    expect((await registerKey(p, squatter, key.publicKeyBase64)).statusCode).toBe(201);
    const mine = await registerKey(p, owner, key.publicKeyBase64);
    expect(mine.statusCode, mine.body).toBe(201);
    // Once per developer: the same developer registering it again is refused, and nothing is stored.
    expectProblem(await registerKey(p, owner, key.publicKeyBase64), 409, 'signing_key_exists');
    const rows = await p.database.db.selectFrom('signing_keys').select(['owner_id']).where('fingerprint', '=', mine.json<{ fingerprint: string }>().fingerprint).execute();
    expect(rows.map((r) => r.owner_id).sort()).toEqual([owner.id, squatter.id].sort());
  });

  it('lets a developer register a key again once it was revoked (as a takeover revokes them), once at a time', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const key = newDeveloperKey();
    const first = (await registerKey(p, dev, key.publicKeyBase64)).json<{ id: string }>();
    expect((await p.app.inject({ method: 'DELETE', url: `/v1/signing-keys/${first.id}`, headers: dev.auth })).statusCode).toBe(204);
    const again = await registerKey(p, dev, key.publicKeyBase64);
    expect(again.statusCode, again.body).toBe(201);
    expectProblem(await registerKey(p, dev, key.publicKeyBase64), 409, 'signing_key_exists');
  });

  it('writes at most ten denials per caller per ten minutes, so nobody can fill the audit log with them', async () => {
    const p = portal();
    const [owner, intruder, other] = [await registerUser(p, 'Owner'), await registerUser(p, 'Intruder'), await registerUser(p, 'Other')];
    const app = await createApp(p, owner, 'com.example.target');
    for (let i = 0; i < 40; i += 1) {
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: intruder.auth }), 404, 'app_not_found');
    }
    expectProblem(await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: other.auth }), 404, 'app_not_found');
    const denied = await entries(p, 'access.denied');
    expect(denied.filter((e) => e.actor_id === intruder.id)).toHaveLength(10);
    expect(denied.filter((e) => e.actor_id === other.id)).toHaveLength(1);
    // And one entry saying the intruder's further denials were not written.
    expect(await entries(p, 'access.denied_suppressed')).toMatchObject([{ actor_id: intruder.id, target_type: 'app', target_id: app.id, details: { code: 'app_not_found', status: 404 } }]);
  });
});

// SQLite alone: what each audit entry says is written by the services, one plain insert on any database.
describeOnSqlite('audit of keys, apps and denied access', (portal) => {
  it('records signing keys registered and revoked', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const res = await registerKey(p, dev, newDeveloperKey().publicKeyBase64);
    const key = res.json<{ id: string; fingerprint: string }>();
    expect(await entries(p, 'signing_key.registered')).toMatchObject([
      { actor_id: dev.id, target_type: 'signing_key', target_id: key.id, ip: '127.0.0.1', details: { name: 'laptop', fingerprint: key.fingerprint } },
    ]);
    expect((await p.app.inject({ method: 'DELETE', url: `/v1/signing-keys/${key.id}`, headers: dev.auth })).statusCode).toBe(204);
    expect(await entries(p, 'signing_key.revoked')).toMatchObject([{ actor_id: dev.id, target_type: 'signing_key', target_id: key.id }]);
  });

  it('records an app deleted, with what identified it', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.gone');
    expect((await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: dev.auth })).statusCode).toBe(204);
    expect(await entries(p, 'app.deleted')).toMatchObject([
      { actor_id: dev.id, target_type: 'app', target_id: app.id, details: { package_id: 'com.example.gone', name: 'Notes' } },
    ]);
  });

  it("records a developer reaching for someone else's app or key, answered exactly like a missing one", async () => {
    const p = portal();
    const [owner, intruder] = [await registerUser(p, 'Owner'), await registerUser(p, 'Intruder')];
    const app = await createApp(p, owner, 'com.example.private');
    const key = (await registerKey(p, owner, newDeveloperKey().publicKeyBase64)).json<{ id: string }>();

    const theirs = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: intruder.auth, payload: { name: 'Mine now' } });
    const missing = await p.app.inject({ method: 'PATCH', url: '/v1/apps/01900000-0000-7000-8000-000000000000', headers: intruder.auth, payload: { name: 'Mine now' } });
    const { request_id: _a, ...theirsBody } = expectProblem(theirs, 404, 'app_not_found');
    const { request_id: _b, ...missingBody } = expectProblem(missing, 404, 'app_not_found');
    expect(theirsBody).toEqual(missingBody);
    expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/signing-keys/${key.id}`, headers: intruder.auth }), 404, 'signing_key_not_found');

    // Only the two that exist are denials; the missing app is just missing.
    expect(await entries(p, 'access.denied')).toMatchObject([
      { actor_id: intruder.id, target_type: 'app', target_id: app.id, ip: '127.0.0.1', details: { code: 'app_not_found', status: 404, method: 'PATCH', route: '/v1/apps/:app_id' } },
      { actor_id: intruder.id, target_type: 'signing_key', target_id: key.id, details: { code: 'signing_key_not_found', route: '/v1/signing-keys/:id' } },
    ]);
    expect((await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}`, headers: owner.auth })).json()).toMatchObject({ name: 'Notes' });
  });

  it('records a 403 under the caller it refused', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const minted = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: dev.auth, payload: { name: 'read only', scopes: ['apps:read'] } });
    const apiKey = minted.json<{ key: string }>().key;
    const res = await p.app.inject({ method: 'POST', url: '/v1/apps', headers: { 'x-api-key': apiKey }, payload: { package_id: 'com.example.nope', name: 'Nope' } });
    expectProblem(res, 403, 'insufficient_scope');
    expect(await entries(p, 'access.denied')).toMatchObject([{ actor_id: dev.id, target_id: null, details: { code: 'insufficient_scope', status: 403, method: 'POST', route: '/v1/apps' } }]);
    expect(await p.database.db.selectFrom('apps').select('id').execute()).toEqual([]);
  });
});
