import { expect, it } from 'vitest';
import { createApp, expectProblem, registerUser } from '../support/api.js';
import { describeEachDatabase, describeOnSqlite, type TestPortal } from '../support/portal.js';

const listingRows = (p: TestPortal) => p.database.db.selectFrom('app_listings').selectAll().orderBy('locale').execute();

// Both dialects: a listing is an upsert per locale (ON CONFLICT), and the locale limit is counted under the app's row lock.
describeEachDatabase('app listings', (portal) => {
  it('creates (201), replaces (200), lists by locale and deletes localized listings', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    const url = (locale: string) => `/v1/apps/${app.id}/listings/${locale}`;

    const de = await p.app.inject({ method: 'PUT', url: url('de-ch'), headers: dev.auth, payload: { name: 'Notizen', summary: 'Notizen machen' } });
    expect(de.statusCode, de.body).toBe(201);
    expect(de.json()).toEqual({ locale: 'de-CH', name: 'Notizen', summary: 'Notizen machen', description: '', created_at: expect.any(String), updated_at: expect.any(String) });
    const en = await p.app.inject({ method: 'PUT', url: url('en'), headers: dev.auth, payload: { name: 'Notes', summary: 'Take notes', description: 'All of them' } });
    expect(en.statusCode, en.body).toBe(201);

    // Another spelling of the same locale replaces it rather than adding a second one.
    const replaced = await p.app.inject({ method: 'PUT', url: url('DE-ch'), headers: dev.auth, payload: { name: 'Notizen Pro', summary: 'Besser', description: 'Mehr' } });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({ locale: 'de-CH', name: 'Notizen Pro', summary: 'Besser', description: 'Mehr', created_at: de.json().created_at });

    const list = await p.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/listings`, headers: dev.auth });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toEqual({ items: [replaced.json(), en.json()], next_cursor: null });

    const del = await p.app.inject({ method: 'DELETE', url: url('de-CH'), headers: dev.auth });
    expect(del.statusCode, del.body).toBe(204);
    expect((await listingRows(p)).map((r) => r.locale)).toEqual(['en']);
    expectProblem(await p.app.inject({ method: 'DELETE', url: url('de-CH'), headers: dev.auth }), 404, 'listing_not_found');
  });

  it('refuses a 101st locale (409 listing_limit_reached) but still replaces existing ones', async () => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    const now = new Date().toISOString();
    // 100 distinct two-letter tags, inserted directly: the limit is what is under test, not PUT.
    const letters = 'abcdefghij';
    const locales = [...letters].flatMap((a) => [...letters].map((b) => `${a}${b}`));
    await p.database.db
      .insertInto('app_listings')
      .values(locales.map((locale) => ({ app_id: app.id, locale, name: 'N', summary: '', description: '', created_at: now, updated_at: now })))
      .execute();
    const res = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/zu`, headers: dev.auth, payload: { name: 'N' } });
    expectProblem(res, 409, 'listing_limit_reached');
    expect(await listingRows(p)).toHaveLength(100);
    const replace = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/aa`, headers: dev.auth, payload: { name: 'Renamed' } });
    expect(replace.statusCode, replace.body).toBe(200);
  });
});

// Locale tags are made canonical, and bad ones and bad bodies refused, before any query: the same on every database.
describeOnSqlite('app listings: locale tags and refused bodies', (portal) => {
  it.each(['zh-hant-tw', 'es-419', 'IW'])('stores the locale %s in canonical form', async (tag) => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    const res = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/${tag}`, headers: dev.auth, payload: { name: 'N' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().locale).toBe({ 'zh-hant-tw': 'zh-Hant-TW', 'es-419': 'es-419', IW: 'he' }[tag]);
  });

  it.each(['english', 'en_US', 'de-CH-1996', 'x-private', '12', 'en-u-ca-gregory', 'e', 'en-', 'de-CHE'])(
    'refuses the locale %s (400) and stores nothing',
    async (tag) => {
      const p = portal();
      const dev = await registerUser(p);
      const app = await createApp(p, dev, 'com.example.notes');
      const res = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/${encodeURIComponent(tag)}`, headers: dev.auth, payload: { name: 'N' } });
      const body = expectProblem(res, 400, 'validation_failed');
      expect(body['errors']).toEqual([expect.objectContaining({ path: 'params.locale' })]);
      expect(await listingRows(p)).toEqual([]);
    },
  );

  it.each([
    ['an unknown field', { name: 'N', locale: 'fr' }],
    ['no name', { summary: 'S' }],
    ['a name over 50 characters', { name: 'n'.repeat(51) }],
    ['a description over 4000 characters', { name: 'N', description: 'd'.repeat(4001) }],
  ])('refuses a listing with %s (400) and stores nothing', async (_what, payload) => {
    const p = portal();
    const dev = await registerUser(p);
    const app = await createApp(p, dev, 'com.example.notes');
    const res = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/fr`, headers: dev.auth, payload });
    expectProblem(res, 400, 'validation_failed');
    expect(await listingRows(p)).toEqual([]);
  });
});
