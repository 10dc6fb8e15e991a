import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { readEventsAfter, type DomainEvent } from '../../src/events/index.js';
import { runJobs } from '../support/accounts.js';
import { createApp, expectProblem, registerUser } from '../support/api.js';
import { makePackage, registerSigningKey } from '../support/packages.js';
import { describeEachDatabase, type TestPortal } from '../support/portal.js';

/** The domain events the portal's own changes append, in the same transaction as the change. */

const ID = 'com.example.notes';

async function events(p: TestPortal): Promise<Pick<DomainEvent, 'type' | 'appId' | 'actorId' | 'payload'>[]> {
  return (await readEventsAfter(p.database.db, 0, 100)).map(({ type, appId, actorId, payload }) => ({ type, appId, actorId, payload }));
}

// Both dialects: each event is appended in the transaction of its change, with ids from each dialect's sequence.
describeEachDatabase('domain events of apps, listings and versions', (portal) => {
  it('records an app created, its listing changed and removed, and a version submitted and checked, in order', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, ID);
    const patch = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: dev.auth, payload: { summary: 'Notes, quickly' } });
    expect(patch.statusCode, patch.body).toBe(200);
    expect((await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/de`, headers: dev.auth, payload: { name: 'Notizen' } })).statusCode).toBe(201);
    expect((await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}/listings/de`, headers: dev.auth })).statusCode).toBe(204);
    const key = await registerSigningKey(p, dev);
    const body = await readFile(await makePackage({ id: ID, key, versionCode: 3, version: '1.2.0' }));
    const upload = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: body });
    expect(upload.statusCode, upload.body).toBe(202);
    const version = upload.json<{ id: string; sha256: string; size: number }>();
    await runJobs(p);

    const on = { appId: app.id, actorId: dev.id };
    expect(await events(p)).toEqual([
      { type: 'app.created', ...on, payload: { package_id: ID, name: 'Notes' } },
      { type: 'listing.changed', ...on, payload: { locale: 'default', fields: ['summary'] } },
      { type: 'listing.changed', ...on, payload: { locale: 'de', created: true } },
      { type: 'listing.changed', ...on, payload: { locale: 'de', removed: true } },
      { type: 'version.submitted', ...on, payload: { version_id: version.id, sha256: version.sha256, size: version.size } },
      // The checks ran as a job: no person acted.
      { type: 'version.checked', appId: app.id, actorId: null, payload: { version_id: version.id, status: 'pending_review', version: '1.2.0', version_code: 3, blocking_findings: 0 } },
    ]);
  });

  it('records nothing for a change that is refused', async () => {
    const p = portal();
    const [dev, other] = [await registerUser(p), await registerUser(p, 'Other')];
    const app = await createApp(p, dev, ID);
    const before = await events(p);
    expectProblem(await p.app.inject({ method: 'POST', url: '/v1/apps', headers: other.auth, payload: { package_id: ID, name: 'Mine' } }), 409, 'package_id_taken');
    expectProblem(await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}/listings/fr`, headers: dev.auth }), 404, 'listing_not_found');
    expectProblem(await p.app.inject({ method: 'PATCH', url: `/v1/apps/${app.id}`, headers: other.auth, payload: { summary: 'x' } }), 404, 'app_not_found');
    // A dry run of a package that fails its checks records nothing either.
    const key = await registerSigningKey(p, dev);
    const wrongApp = await readFile(await makePackage({ id: 'com.example.other', key }));
    const dryRun = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/versions?dry_run=true`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: wrongApp });
    expectProblem(dryRun, 422, 'package_invalid');
    expect(await events(p)).toEqual(before);
  });

  it('wakes a follower of the log in the same process when an app is deleted', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, ID);
    await p.events.start();
    const seen: DomainEvent[] = [];
    const following = p.events.follow(0, (event) => {
      seen.push(event);
    });
    expect((await p.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: dev.auth })).statusCode).toBe(204);
    await expect.poll(() => seen.map((event) => event.type), { timeout: 500, interval: 10 }).toEqual(['app.created', 'app.deleted']);
    await following.stop();
  });
});
