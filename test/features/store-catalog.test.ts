import { expect, it } from 'vitest';
import { TestClock } from '../support/accounts.js';
import { expectProblem } from '../support/api.js';
import { describeEachDatabase, startPortal, type TestPortal } from '../support/portal.js';
import { storeWorld } from '../support/store.js';

let clock: TestClock;

/** Between two publications of the seed. */
const SPACING = 10_000;

interface Item {
  package_id: string;
  name: string;
  summary: string;
  category: string | null;
  locale: string | null;
  downloads: number;
  published_at: string | null;
  updated_at: string | null;
  version_code: number | null;
}

interface Seed {
  package_id: string;
  name: string;
  summary?: string;
  description?: string;
  category?: string;
}

/** The catalog: the apps the search assertions are about, and ordinary apps that must not match them. */
const SEED: Seed[] = [
  { package_id: 'com.example.calculator', name: 'Calculator', summary: 'Add, subtract, multiply', description: 'Sums for every day.', category: 'tools' },
  { package_id: 'com.example.scilab', name: 'Science Lab', summary: 'Formulas and units', description: 'Has a scientific calc mode with graphs.', category: 'education' },
  { package_id: 'com.example.ledger', name: 'Pocket Ledger', summary: 'Track spending', description: 'A budget with a calculator built in.', category: 'productivity' },
  { package_id: 'com.example.planner', name: 'Budget Planner', summary: 'Plan your month', description: 'Envelopes and goals.', category: 'productivity' },
  { package_id: 'com.example.weather', name: 'Weather', summary: 'Forecasts', description: 'Rain radar.', category: 'tools' },
  { package_id: 'com.zykloid.metronome', name: 'Tempo', summary: 'Keep the beat', description: 'Clicks in time.', category: 'media' },
  { package_id: 'com.example.starmap', name: 'Star Map', summary: 'Point at the sky', description: 'Constellations by night.', category: 'astronomy' },
  ...['Alarm', 'Books', 'Dice', 'Echo', 'Gallery', 'Habits', 'Journal', 'Kanban', 'Mirror', 'Podcasts', 'Radio', 'Timer', 'Wallet', 'Yoga'].map(
    (name, i): Seed => ({ package_id: `org.sample.${name.toLowerCase()}`, name, summary: `${name} for everyone`, description: `The ${name.toLowerCase()} you need.`, category: (['tools', 'media', 'games'] as const)[i % 3] }),
  ),
];

async function getJson<T>(p: TestPortal, url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await p.app.inject({ method: 'GET', url, headers });
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json<T>();
}

const ids = (page: { items: Item[] }) => page.items.map((i) => i.package_id);

/** Every item of a listing, page by page, following next_cursor. */
async function walk(p: TestPortal, query: string, limit: number): Promise<{ items: Item[]; pages: number }> {
  const items: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/v1/store/apps?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page: { items: Item[]; next_cursor: string | null } = await getJson(p, url);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    cursor = page.next_cursor;
    pages += 1;
    expect(pages).toBeLessThan(100);
  } while (cursor !== null);
  return { items, pages };
}

// Both dialects: search is FTS5 with bm25 on SQLite and tsvector with ts_rank on PostgreSQL, and the model is patched from the event log.
describeEachDatabase(
  'store catalog: search, orders, pages, languages',
  (portal) => {
    it('searches every field and locale by prefix, best match first; browses in every order and page by page', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const apps = new Map<string, { id: string; package_id: string }>();
      for (const seed of SEED) {
        const { package_id, ...extra } = seed;
        apps.set(package_id, await world.newApp(package_id, extra));
      }
      const app = (id: string) => apps.get(id) as { id: string; package_id: string };
      const de = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app('com.example.weather').id}/listings/de`, headers: world.dev.auth, payload: { name: 'Wetter', summary: 'Vorhersagen', description: 'Regenradar und Unwetterwarnungen.' } });
      expect(de.statusCode, de.body).toBe(201);
      // Drafts, never published, with words the searches below look for.
      await world.newApp('com.example.calcdraft', { name: 'Calc Draft', summary: 'Budget astronomy calculator', category: 'tools' });
      // SPACING apart (well inside an access token's life), in seed order: "new" is the reverse of it. world.app (com.example.notes) stays a draft.
      await world.releaseMany([...apps.values()], 1, SPACING);
      const all = SEED.map((s) => s.package_id);

      // ---- search ----
      const search = async (q: string, extra = '') => ids(await getJson<{ items: Item[] }>(p, `/v1/store/apps?q=${encodeURIComponent(q)}${extra}`));
      const calc = await search('calc');
      expect(calc[0]).toBe('com.example.calculator');
      expect([...calc].sort()).toEqual(['com.example.calculator', 'com.example.ledger', 'com.example.scilab']);
      expect(await search('Calculator')).toEqual(['com.example.calculator', 'com.example.ledger']);
      expect(await search('unwetterwarnungen')).toEqual(['com.example.weather']);
      expect(await search('wett')).toEqual(['com.example.weather']);
      expect(await search('zykloid')).toEqual(['com.zykloid.metronome']);
      expect(await search('metronome')).toEqual(['com.zykloid.metronome']);
      // A name match ranks above a description-only match.
      expect(await search('budget')).toEqual(['com.example.planner', 'com.example.ledger']);
      expect(await search('astronomy')).toEqual(['com.example.starmap']);
      // Every word must match.
      expect(await search('budget planner')).toEqual(['com.example.planner']);
      expect(await search('calc', '&category=education')).toEqual(['com.example.scilab']);
      // Matches in another order: by name (Calculator, Pocket Ledger, Science Lab), newest first.
      expect(await search('calc', '&sort=name')).toEqual(['com.example.calculator', 'com.example.ledger', 'com.example.scilab']);
      expect(await search('calc', '&sort=new')).toEqual(['com.example.ledger', 'com.example.scilab', 'com.example.calculator']);
      expect(await search('nothingmatchesthis')).toEqual([]);
      for (const q of ["'); drop table apps; --", '"', '*', 'NEAR(', 'calc"*', 'a OR b', 'NOT calc', '-calc', 'calc:*', '\\', '%', '_', '(', ')', '&|!', 'ü', '日本']) {
        const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps?q=${encodeURIComponent(q)}` });
        expect(res.statusCode, `q=${q}: ${res.body}`).toBe(200);
      }
      expect(await search("'); drop table apps; --")).toEqual([]);
      expect((await search('calc"*'))[0]).toBe('com.example.calculator');
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps?q=${'a'.repeat(101)}` }), 400, 'validation_failed');
      // Search results page too.
      const calcPages = await walk(p, 'q=calc', 1);
      expect(calcPages.items.map((i) => i.package_id)).toEqual(calc);

      // ---- orders and pages ----
      const byName = [...SEED].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1)).map((s) => s.package_id);
      expect(ids(await getJson(p, '/v1/store/apps?sort=name&limit=100'))).toEqual(byName);
      expect(ids(await getJson(p, '/v1/store/apps?sort=new&limit=100'))).toEqual([...all].reverse());
      expect(ids(await getJson(p, '/v1/store/apps?sort=updated&limit=100'))).toEqual([...all].reverse());
      const first = await getJson<{ items: Item[]; next_cursor: string | null }>(p, '/v1/store/apps?sort=new&limit=2');
      expect(first.items.map((i) => i.published_at)).toEqual([clock.now().toISOString(), new Date(clock.now().getTime() - SPACING).toISOString()]);
      expect(first.items[0]).toMatchObject({ version_code: 1, downloads: 0, locale: null });

      for (const sort of ['name', 'new', 'popular']) {
        const walked = await walk(p, `sort=${sort}`, 2);
        expect(walked.pages).toBe(Math.ceil(SEED.length / 2));
        expect(walked.items.map((i) => i.package_id)).toEqual(ids(await getJson(p, `/v1/store/apps?sort=${sort}&limit=100`)));
        expect(new Set(walked.items.map((i) => i.package_id)).size).toBe(SEED.length);
      }
      const games = SEED.filter((s) => s.category === 'games').map((s) => s.package_id);
      const gameWalk = await walk(p, 'sort=name&category=games', 2);
      expect(gameWalk.items.map((i) => i.package_id).sort()).toEqual([...games].sort());
      expect(gameWalk.items.every((i) => i.category === 'games')).toBe(true);
      expect(ids(await getJson(p, '/v1/store/apps?category=nothing-here'))).toEqual([]);

      // The default page: "popular", 20 items.
      const defaultPage = await getJson<{ items: Item[]; next_cursor: string | null }>(p, '/v1/store/apps');
      expect(defaultPage.items).toHaveLength(20);
      expect(defaultPage.next_cursor).not.toBeNull();

      const cursor = first.next_cursor as string;
      const tampered = [
        `${cursor.slice(0, -2)}!!`,
        'not-a-cursor',
        Buffer.from('{"a":1}').toString('base64url'),
        Buffer.from(JSON.stringify(['x', 'com.example.calculator'])).toString('base64url'),
        Buffer.from(JSON.stringify([1])).toString('base64url'),
        'x'.repeat(600),
      ];
      for (const bad of tampered) {
        const res = await p.app.inject({ method: 'GET', url: `/v1/store/apps?sort=new&limit=2&cursor=${encodeURIComponent(bad)}` });
        expect(res.statusCode, `cursor ${bad}: ${res.body}`).toBe(400);
        expect(['invalid_cursor', 'validation_failed']).toContain(res.json<{ code: string }>().code);
      }
      expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps?sort=new&limit=2&cursor=${encodeURIComponent(tampered[0] as string)}` }), 400, 'invalid_cursor');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps?sort=relevance' }), 400, 'validation_failed');
      for (const query of ['sort=best', 'limit=0', 'limit=101', 'category=Not_A_Slug']) {
        expectProblem(await p.app.inject({ method: 'GET', url: `/v1/store/apps?${query}` }), 400, 'validation_failed');
      }

      const categories = await getJson<{ items: { category: string; apps: number }[] }>(p, '/v1/store/categories');
      const counts = new Map<string, number>();
      for (const s of SEED) if (s.category) counts.set(s.category, (counts.get(s.category) ?? 0) + 1);
      expect(categories).toEqual({ items: [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([category, n]) => ({ category, apps: n })) });

      // Drafts are nowhere: not listed, not found, no detail.
      const listed = ids(await getJson(p, '/v1/store/apps?sort=name&limit=100'));
      expect(listed).not.toContain('com.example.calcdraft');
      expect(listed).not.toContain('com.example.notes');
      expectProblem(await p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.calcdraft' }), 404, 'store_app_not_found');

      // ---- a later release, downloads ----
      // A new version of the oldest app: first in "updated", still last in "new".
      clock.advance(SPACING);
      await world.release(app('com.example.calculator'), 2);
      expect(ids(await getJson(p, '/v1/store/apps?sort=updated&limit=3'))).toEqual(['com.example.calculator', all[all.length - 1], all[all.length - 2]]);
      expect(ids(await getJson(p, '/v1/store/apps?sort=new&limit=100')).at(-1)).toBe('com.example.calculator');
      const calculator = (await getJson<{ items: Item[] }>(p, '/v1/store/apps?q=calculator')).items[0];
      expect(calculator).toMatchObject({ version_code: 2, updated_at: clock.now().toISOString(), published_at: new Date(clock.now().getTime() - SPACING * SEED.length).toISOString() });

      const download = async (pkg: string, code: number, device: string) => {
        const res = await p.app.inject({ method: 'GET', url: `/v1/store/packages/${pkg}/${code}.mosis`, headers: { 'x-mosis-device': device } });
        expect(res.statusCode).toBe(200);
      };
      for (const d of ['d1', 'd2', 'd3']) await download('org.sample.yoga', 1, d);
      for (const d of ['d1', 'd2']) await download('com.example.starmap', 1, d);
      await download('com.example.calculator', 2, 'd1');
      await p.core.store.downloads.flush();
      // "popular" is refreshed from the counts every minute; an instance starting now reads them at once.
      const url = p.config.database.dialect === 'postgres' ? p.config.database.url : `sqlite:${p.config.database.file}`;
      const fresh = await startPortal('sqlite', { DATABASE_URL: url }, { clock });
      try {
        const popular = await getJson<{ items: Item[] }>(fresh.portal, '/v1/store/apps?sort=popular&limit=4');
        expect(popular.items.map((i) => [i.package_id, i.downloads])).toEqual([
          ['org.sample.yoga', 3],
          ['com.example.starmap', 2],
          ['com.example.calculator', 1],
          [[...all].filter((id) => !['org.sample.yoga', 'com.example.starmap', 'com.example.calculator'].includes(id)).sort()[0], 0],
        ]);
        const walked = await walk(fresh.portal, 'sort=popular', 2);
        expect(new Set(walked.items.map((i) => i.package_id)).size).toBe(SEED.length);
      } finally {
        await fresh.stop();
      }

      // A cursor is a position, not an offset: apps published between two pages neither repeat nor shift what follows.
      const page1 = await getJson<{ items: Item[]; next_cursor: string }>(p, '/v1/store/apps?sort=name&limit=4');
      const aardvark = await world.newApp('com.example.aardvark', { name: 'Aardvark' });
      const zither = await world.newApp('com.example.zither', { name: 'Zither' });
      await world.releaseMany([aardvark, zither]);
      const rest = await getJson<{ items: Item[]; next_cursor: string | null }>(p, `/v1/store/apps?sort=name&limit=100&cursor=${encodeURIComponent(page1.next_cursor)}`);
      expect([...ids(page1), ...ids(rest)]).toEqual([...byName, 'com.example.zither']);
      expect(rest.next_cursor).toBeNull();
    });

    it('reads listings in the caller’s language, answers 304 to ETags, and shows a listing change once settled', async () => {
      const p = portal();
      const world = await storeWorld(p, clock);
      const weather = await world.newApp('com.example.weather', { name: 'Weather', summary: 'Forecasts', description: 'Rain radar.', category: 'tools' });
      const put = (locale: string, payload: object) => p.app.inject({ method: 'PUT', url: `/v1/apps/${weather.id}/listings/${locale}`, headers: world.dev.auth, payload });
      expect((await put('de', { name: 'Wetter', summary: 'Vorhersagen', description: 'Regenradar.' })).statusCode).toBe(201);
      expect((await put('fr-CA', { name: 'Météo', summary: 'Prévisions', description: 'Radar de pluie.' })).statusCode).toBe(201);
      const w1 = await world.release(weather, 1);
      await world.release(world.app, 1);

      const item = async (language?: string) => {
        const page = await getJson<{ items: Item[] }>(p, '/v1/store/apps?sort=name', language ? { 'accept-language': language } : {});
        return page.items.find((i) => i.package_id === 'com.example.weather') as Item;
      };
      expect(await item()).toMatchObject({ name: 'Weather', summary: 'Forecasts', locale: null });
      expect(await item('de-CH')).toMatchObject({ name: 'Wetter', summary: 'Vorhersagen', locale: 'de' });
      expect(await item('de')).toMatchObject({ name: 'Wetter', locale: 'de' });
      expect(await item('fr')).toMatchObject({ name: 'Météo', locale: 'fr-CA' });
      expect(await item('ja, de;q=0.5')).toMatchObject({ name: 'Wetter', locale: 'de' });
      expect(await item('fr;q=0.4, de;q=0.8')).toMatchObject({ name: 'Wetter', locale: 'de' });
      expect(await item('es-ES')).toMatchObject({ name: 'Weather', locale: null });
      expect(await item('*')).toMatchObject({ name: 'Weather', locale: null });

      const detail = (headers: Record<string, string> = {}) => p.app.inject({ method: 'GET', url: '/v1/store/apps/com.example.weather', headers });
      const german = await detail({ 'accept-language': 'de-CH' });
      expect(german.statusCode, german.body).toBe(200);
      expect(german.json()).toMatchObject({ name: 'Wetter', summary: 'Vorhersagen', description: 'Regenradar.', locale: 'de', locales: ['de', 'fr-CA'], category: 'tools', version: { version_code: 1 } });
      expect(String(german.headers.vary)).toMatch(/accept-language/i);
      const plain = await detail({ 'accept-language': 'zz' });
      expect(plain.json()).toMatchObject({ name: 'Weather', description: 'Rain radar.', locale: null, locales: ['de', 'fr-CA'] });
      expect(plain.headers.etag).not.toBe(german.headers.etag);

      // ETags: the same answer is 304, another language's is not.
      expect((await detail({ 'accept-language': 'de-CH', 'if-none-match': german.headers.etag as string })).statusCode).toBe(304);
      expect((await detail({ 'accept-language': 'zz', 'if-none-match': german.headers.etag as string })).statusCode).toBe(200);
      const list = await p.app.inject({ method: 'GET', url: '/v1/store/apps?sort=name' });
      expect(list.headers['cache-control']).toBe('public, max-age=60');
      expect(String(list.headers.vary)).toMatch(/accept-language/i);
      const listEtag = list.headers.etag as string;
      expect(listEtag).toMatch(/^"[^"]+"$/);
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/apps?sort=name', headers: { 'if-none-match': listEtag } })).statusCode).toBe(304);
      const categoriesEtag = (await p.app.inject({ method: 'GET', url: '/v1/store/categories' })).headers.etag as string;
      expect((await p.app.inject({ method: 'GET', url: '/v1/store/categories', headers: { 'if-none-match': categoriesEtag } })).statusCode).toBe(304);

      // A listing change reaches the store once settled: a new ETag, the new name, the new order, the new search.
      const patch = await p.app.inject({ method: 'PATCH', url: `/v1/apps/${weather.id}`, headers: world.dev.auth, payload: { name: 'Aeolus Weather', category: 'science' } });
      expect(patch.statusCode, patch.body).toBe(200);
      await p.core.store.settled();
      const after = await p.app.inject({ method: 'GET', url: '/v1/store/apps?sort=name', headers: { 'if-none-match': listEtag } });
      expect(after.statusCode).toBe(200);
      expect(after.json<{ items: Item[] }>().items.map((i) => [i.package_id, i.name, i.category])).toEqual([
        ['com.example.weather', 'Aeolus Weather', 'science'],
        ['com.example.notes', 'Notes', null],
      ]);
      expect((await detail()).json()).toMatchObject({ name: 'Aeolus Weather', category: 'science' });
      expect((await detail({ 'accept-language': 'de', 'if-none-match': german.headers.etag as string })).statusCode).toBe(200);
      expect(ids(await getJson(p, '/v1/store/apps?q=aeolus'))).toEqual(['com.example.weather']);
      expect(await getJson(p, '/v1/store/categories')).toEqual({ items: [{ category: 'science', apps: 1 }] });
      // A translation's change, too.
      expect((await put('de', { name: 'Wetterdienst', summary: 'Vorhersagen' })).statusCode).toBe(200);
      await p.core.store.settled();
      expect(await item('de')).toMatchObject({ name: 'Wetterdienst', locale: 'de' });
      expect(ids(await getJson(p, '/v1/store/apps?q=wetterdienst'))).toEqual(['com.example.weather']);
      // A translation added after publication.
      expect((await put('it', { name: 'Meteo', summary: 'Previsioni' })).statusCode).toBe(201);
      await p.core.store.settled();
      expect(await item('it-IT')).toMatchObject({ name: 'Meteo', locale: 'it' });
      expect((await detail()).json()).toMatchObject({ locales: ['de', 'fr-CA', 'it'] });

      // Release notes of a published version can still be edited: devices are told the new ones.
      const notesUrl = `/v1/apps/${weather.id}/versions/${w1.id}`;
      const before = await p.app.inject({ method: 'GET', url: '/v1/store/apps/updates?pkgs=com.example.weather:0' });
      expect(before.json()).toMatchObject({ updates: [{ version_code: 1, release_notes: null }] });
      const notes = await p.app.inject({ method: 'PATCH', url: notesUrl, headers: world.dev.auth, payload: { release_notes: 'Storm warnings for the Alps.' } });
      expect(notes.statusCode, notes.body).toBe(200);
      await p.core.store.settled();
      const updates = await p.app.inject({ method: 'GET', url: '/v1/store/apps/updates?pkgs=com.example.weather:0' });
      expect(updates.json()).toMatchObject({ updates: [{ version_code: 1, release_notes: 'Storm warnings for the Alps.' }] });
      expect((await detail()).json()).toMatchObject({ version: { version_code: 1, release_notes: 'Storm warnings for the Alps.' } });
    });
  },
  { deps: () => ({ clock: (clock = new TestClock()) }) },
);
