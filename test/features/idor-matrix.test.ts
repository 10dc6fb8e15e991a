import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable, type RouteEntry } from '../../src/http/index.js';
import { API_KEY_SCOPES } from '../../src/shared/index.js';
import { runJobs, signInAdmin, TestClock } from '../support/accounts.js';
import { createApp, registerUser, type TestUser, PASSWORD } from '../support/api.js';
import { png, storedBlobs, uploadImage } from '../support/images.js';
import { makePackage, registerSigningKey } from '../support/packages.js';
import { startPortal, type TestPortal } from '../support/portal.js';

/**
 * The ownership (IDOR) matrix, generated from the portal's route table: every route that names an
 * app, version, image, key, user or job is called with developer A's ids by everyone who must not
 * reach them, and must be refused without changing anything. A route added later with such a
 * parameter fails the first test until it is classified below, so it cannot slip past.
 *
 * Ownership is decided in services and the authenticator, not in SQL that differs by dialect, so
 * this runs on SQLite only; the repositories' own tests cover both dialects.
 */

/** A's things (and the few of others' the matrix needs), created once through the API. */
interface Fixtures {
  app: string;
  /** Another app of A's: the one A's restricted key may touch. */
  otherApp: string;
  /** B's own app, under which B tries A's screenshots and versions. */
  appOfB: string;
  listingLocale: string;
  screenshot: string;
  version: string;
  apiKey: string;
  signingKey: string;
  userA: string;
  deadJob: string;
  /** Another dead job, for the discard. */
  discardJob: string;
  /** The refresh-token family of a second sign-in of A's. */
  sessionOfA: string;
  /** A's approved version, of a third app of A's (one with a yanked version cannot be deleted): what publish, rollout and yank act on. */
  releaseApp: string;
  releaseVersion: string;
  /** A version of B's app waiting for review: what reviewers (here: the admin) work on. */
  reviewVersion: string;
  image: Buffer;
  /** A crash group of A's app (from a device's crash report). */
  crashGroup: string;
  /** A's next version of `app`, signed with A's key: an upload the owner could make. */
  nextPackage: Buffer;
  /** A webhook of A's `app`, and a delivery of it (a ping, never sent: no job runs after it). */
  webhook: string;
  webhookDelivery: string;
}

interface Body {
  payload: unknown;
  contentType?: string;
}

interface Case {
  /** Every path parameter of the route, filled. */
  params: Record<string, string>;
  /** For writes: a body the owner could send, so a refusal is about ownership, not validation. */
  body?: Body;
}

type Rule =
  /** Reachable by anyone on purpose: its parameter names nothing that belongs to an account. */
  | { kind: 'public'; why: string }
  /**
   * Belongs to developer A. `childOf: 'app_id'`: another parameter names an object of that app,
   * which is also tried under an app the caller may reach (its own), so a check on the app alone
   * is not enough. `userOnly`: a route of the account itself (its sessions), which refuses every
   * API key whatever its scopes (403 api_key_not_allowed).
   */
  | { kind: 'owned'; cases: (f: Fixtures) => Case[]; childOf?: 'app_id'; userOnly?: true }
  /** For admins only (B, keys and A are plain developers or keys). */
  | { kind: 'admin'; cases: (f: Fixtures) => Case[] };

const json = (payload: unknown): Body => ({ payload });
const pngBody = (f: Fixtures): Body => ({ payload: f.image, contentType: 'image/png' });

/**
 * Every route that must be classified: any with a path parameter, and every admin route. Keyed by
 * `METHOD url` exactly as the route table has it.
 */
const RULES: Record<string, Rule> = {
  'GET /v1/apps/:app_id': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'PATCH /v1/apps/:app_id': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app }, body: json({ name: 'Stolen' }) }] },
  'DELETE /v1/apps/:app_id': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'GET /v1/apps/:app_id/listings': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'PUT /v1/apps/:app_id/listings/:locale': {
    kind: 'owned',
    // A's existing listing, and a locale A has none in yet (creating one is a write too).
    cases: (f) => [
      { params: { app_id: f.app, locale: f.listingLocale }, body: json({ name: 'Gestohlen' }) },
      { params: { app_id: f.app, locale: 'fr' }, body: json({ name: 'Volé' }) },
    ],
  },
  'DELETE /v1/apps/:app_id/listings/:locale': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app, locale: f.listingLocale } }] },
  'POST /v1/apps/:app_id/icon': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app }, body: pngBody(f) }] },
  'DELETE /v1/apps/:app_id/icon': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'POST /v1/apps/:app_id/screenshots': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app }, body: pngBody(f) }] },
  'GET /v1/apps/:app_id/screenshots': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'DELETE /v1/apps/:app_id/screenshots/:screenshot_id': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, screenshot_id: f.screenshot } }] },
  'POST /v1/apps/:app_id/versions': {
    kind: 'owned',
    cases: (f) => [{ params: { app_id: f.app }, body: { payload: f.nextPackage, contentType: 'application/octet-stream' } }],
  },
  'GET /v1/apps/:app_id/versions': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'GET /v1/apps/:app_id/downloads': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'GET /v1/apps/:app_id/versions/:version_id': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, version_id: f.version } }] },
  'GET /v1/apps/:app_id/versions/:version_id/history': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, version_id: f.version } }] },
  'PATCH /v1/apps/:app_id/versions/:version_id': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.app, version_id: f.version }, body: json({ release_notes: 'Stolen' }) }],
  },
  // In the order the owner can make them: publish the approved version, change its rollout, yank it.
  'POST /v1/apps/:app_id/versions/:version_id/publish': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.releaseApp, version_id: f.releaseVersion }, body: json({ channel: 'stable', rollout_percent: 10 }) }],
  },
  'PATCH /v1/apps/:app_id/versions/:version_id/rollout': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.releaseApp, version_id: f.releaseVersion }, body: json({ rollout_percent: 100 }) }],
  },
  'POST /v1/apps/:app_id/versions/:version_id/yank': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.releaseApp, version_id: f.releaseVersion }, body: json({ reason: 'Stolen' }) }],
  },
  'GET /v1/apps/:app_id/analytics': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'GET /v1/apps/:app_id/crashes': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'GET /v1/apps/:app_id/crashes/:group_id': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, group_id: f.crashGroup } }] },
  'PATCH /v1/apps/:app_id/crashes/:group_id': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.app, group_id: f.crashGroup }, body: json({ status: 'ignored' }) }],
  },
  'GET /v1/apps/:app_id/webhooks': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app } }] },
  'POST /v1/apps/:app_id/webhooks': { kind: 'owned', cases: (f) => [{ params: { app_id: f.app }, body: json({ url: 'https://hooks.example.com/stolen', events: ['*'] }) }] },
  'PATCH /v1/apps/:app_id/webhooks/:webhook_id': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.app, webhook_id: f.webhook }, body: json({ url: 'https://hooks.example.com/stolen' }) }],
  },
  'DELETE /v1/apps/:app_id/webhooks/:webhook_id': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, webhook_id: f.webhook } }] },
  'POST /v1/apps/:app_id/webhooks/:webhook_id/rotate-secret': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, webhook_id: f.webhook } }] },
  'GET /v1/apps/:app_id/webhooks/:webhook_id/deliveries': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, webhook_id: f.webhook } }] },
  'POST /v1/apps/:app_id/webhooks/:webhook_id/ping': { kind: 'owned', childOf: 'app_id', cases: (f) => [{ params: { app_id: f.app, webhook_id: f.webhook } }] },
  'POST /v1/apps/:app_id/webhooks/:webhook_id/deliveries/:delivery_id/redeliver': {
    kind: 'owned',
    childOf: 'app_id',
    cases: (f) => [{ params: { app_id: f.app, webhook_id: f.webhook, delivery_id: f.webhookDelivery } }],
  },
  'DELETE /v1/keys/:id': { kind: 'owned', cases: (f) => [{ params: { id: f.apiKey } }] },
  'DELETE /v1/signing-keys/:id': { kind: 'owned', cases: (f) => [{ params: { id: f.signingKey } }] },

  'GET /v1/admin/users': { kind: 'admin', cases: () => [{ params: {} }] },
  'PATCH /v1/admin/users/:id': { kind: 'admin', cases: (f) => [{ params: { id: f.userA }, body: json({ status: 'suspended' }) }] },
  'GET /v1/admin/audit': { kind: 'admin', cases: () => [{ params: {} }] },
  'GET /v1/admin/jobs': { kind: 'admin', cases: () => [{ params: {} }] },
  'POST /v1/admin/jobs/:id/retry': { kind: 'admin', cases: (f) => [{ params: { id: f.deadJob } }] },
  'GET /v1/admin/jobs/summary': { kind: 'admin', cases: () => [{ params: {} }] },
  'DELETE /v1/admin/jobs/:id': { kind: 'admin', cases: (f) => [{ params: { id: f.discardJob } }] },
  // Another session of A's (not the one the owner's calls use): signing it out is A's alone.
  'DELETE /v1/auth/sessions/:id': { kind: 'owned', userOnly: true, cases: (f) => [{ params: { id: f.sessionOfA } }] },
  // Review routes are for reviewers and admins: everyone in this matrix but the admin is refused.
  'GET /v1/review/queue': { kind: 'admin', cases: () => [{ params: {} }] },
  'GET /v1/review/:version_id': { kind: 'admin', cases: (f) => [{ params: { version_id: f.reviewVersion } }] },
  'GET /v1/review/:version_id/package': { kind: 'admin', cases: (f) => [{ params: { version_id: f.reviewVersion } }] },
  'POST /v1/review/:version_id/claim': { kind: 'admin', cases: (f) => [{ params: { version_id: f.reviewVersion } }] },
  'DELETE /v1/review/:version_id/claim': { kind: 'admin', cases: (f) => [{ params: { version_id: f.reviewVersion } }] },
  'POST /v1/review/:version_id/decision': { kind: 'admin', cases: (f) => [{ params: { version_id: f.reviewVersion }, body: json({ decision: 'approve' }) }] },

  'GET /v1/store/apps/:package_id': { kind: 'public', why: 'the store: published listings are for every device' },
  'GET /v1/store/apps/:package_id/versions': { kind: 'public', why: "the store: a published app's published versions, as the signed index lists them" },
  'GET /v1/store/packages/:package_id/:file': { kind: 'public', why: 'the store: published packages are for every device' },
  'DELETE /v1/telemetry/devices/:device_id': { kind: 'public', why: "a device erasing its own raw telemetry: answered the same whether or not anything was kept, and nobody's account holds it" },
  'GET /v1/media/:sha256': { kind: 'public', why: 'published images by content hash; unguessable and meant to be shown to anyone' },
  'GET /v1/auth/oauth/:provider/start': { kind: 'public', why: 'a provider name, before anyone is signed in' },
  'GET /v1/auth/oauth/:provider/callback': { kind: 'public', why: "the provider's redirect back, checked against the state cookie" },
  'GET /docs/api/static/:file': { kind: 'public', why: 'swagger-ui assets' },
  'GET /docs/*': { kind: 'public', why: 'the documentation site: static pages and their search index' },
};

/** Must be classified: names something by a path parameter, or is an admin or review route. */
function needsRule(route: RouteEntry): boolean {
  return /[:*]/.test(route.url) || route.url.startsWith('/v1/admin') || route.url.startsWith('/v1/review');
}

function paramsOf(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)|\*/g)].map((m) => m[1] ?? '*').sort();
}

function fill(url: string, params: Record<string, string>): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${url}: no value for :${name}`);
    return encodeURIComponent(value);
  });
}

interface Call {
  route: string;
  method: RouteEntry['method'];
  url: string;
  body?: Body;
}

/** Who calls, with what credentials, and what they must get. */
interface Caller {
  name: string;
  headers: Record<string, string>;
  /** The app this caller may legitimately reach, under which A's children are also tried. */
  ownApp?: (f: Fixtures) => string;
  /** Null when the answer is right, otherwise why it is wrong. */
  judge(rule: Rule, call: Call, res: LightMyRequestResponse): string | null;
}

function problemCode(res: LightMyRequestResponse): string | undefined {
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) return undefined;
  return (JSON.parse(res.body) as { code?: string }).code;
}

/** Refused with one of the statuses, as problem+json (and, when given, with that code). */
function refused(res: LightMyRequestResponse, statuses: number[], code?: string): string | null {
  if (!statuses.includes(res.statusCode)) return `expected ${statuses.join('/')}, got ${res.statusCode}: ${res.body.slice(0, 200)}`;
  const actual = problemCode(res);
  if (actual === undefined) return `expected problem+json, got ${String(res.headers['content-type'])}`;
  if (code !== undefined && actual !== code) return `expected code ${code}, got ${actual}`;
  return null;
}

function send(p: TestPortal, headers: Record<string, string>, call: Call) {
  const all = { ...headers, ...(call.body?.contentType ? { 'content-type': call.body.contentType } : {}) };
  return p.app.inject({ method: call.method, url: call.url, headers: all, ...(call.body === undefined ? {} : { payload: call.body.payload as string }) });
}

/** Every table, rows in a stable order: what the portal stores, to prove refusals changed nothing. */
async function snapshot(p: TestPortal): Promise<Record<string, unknown>> {
  const db = p.database.db;
  const out: Record<string, unknown> = { blobs: await storedBlobs(p) };
  for (const table of await db.introspection.getTables()) {
    // Refused calls are audited on purpose (access denials), and using a key marks it used.
    if (table.name === 'audit_log') continue;
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(db);
    const kept = rows.map((row) => (table.name === 'api_keys' ? { ...row, last_used_at: null } : row));
    out[table.name] = kept.map((row) => JSON.stringify(row)).sort();
  }
  return out;
}

const CALLERS = [
  'developer B (signed in)',
  "B's API key with every scope",
  "A's API key restricted to A's other app",
  "A's API key with only apps:read",
  'nobody (no credentials)',
] as const;

describe('ownership matrix over the route table [sqlite]', () => {
  let p: TestPortal;
  let stop: () => Promise<void>;
  let f: Fixtures;
  let a: TestUser;
  let b: TestUser;
  let admin: TestUser;
  let callers: Caller[];
  let routes: readonly RouteEntry[];

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  async function createKey(user: TestUser, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const res = await p.app.inject({ method: 'POST', url: '/v1/keys', headers: user.auth, payload: { name: 'ci', ...body } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  beforeAll(async () => {
    const clock = new TestClock();
    ({ portal: p, stop } = await startPortal('sqlite', {}, { clock }));
    routes = routeTable(p.app);
    a = await registerUser(p, 'A');
    b = await registerUser(p, 'B');
    admin = await signInAdmin(p, clock);

    const app = await createApp(p, a, 'com.example.secret');
    const otherApp = await createApp(p, a, 'com.example.other');
    const appOfB = await createApp(p, b, 'com.example.mine');
    const listing = await p.app.inject({ method: 'PUT', url: `/v1/apps/${app.id}/listings/de`, headers: a.auth, payload: { name: 'Geheim' } });
    expect(listing.statusCode, listing.body).toBe(201);
    const image = await png(512, 512, { r: 1, g: 2, b: 3 });
    expect((await uploadImage(p, a, `/v1/apps/${app.id}/icon`, image)).statusCode).toBe(200);
    const shot = await uploadImage(p, a, `/v1/apps/${app.id}/screenshots`, image);
    expect(shot.statusCode, shot.body).toBe(201);
    const signingKey = await registerSigningKey(p, a);
    const upload = await p.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/versions`,
      headers: { ...a.auth, 'content-type': 'application/octet-stream' },
      payload: await readFile(await makePackage({ id: app.package_id, versionCode: 1, key: signingKey })),
    });
    expect(upload.statusCode, upload.body).toBe(202);
    const releaseApp = await createApp(p, a, 'com.example.released');
    const approved = await p.app.inject({
      method: 'POST',
      url: `/v1/apps/${releaseApp.id}/versions`,
      headers: { ...a.auth, 'content-type': 'application/octet-stream' },
      payload: await readFile(await makePackage({ id: releaseApp.package_id, versionCode: 1, key: signingKey })),
    });
    expect(approved.statusCode, approved.body).toBe(202);
    const releaseVersion = approved.json<{ id: string }>().id;
    await runJobs(p);
    const decision = await p.app.inject({ method: 'POST', url: `/v1/review/${releaseVersion}/decision`, headers: admin.auth, payload: { decision: 'approve' } });
    expect(decision.statusCode, decision.body).toBe(200);
    const nextPackage = await readFile(await makePackage({ id: app.package_id, versionCode: 2, key: signingKey }));
    const signingKeyOfB = await registerSigningKey(p, b);
    const uploadOfB = await p.app.inject({
      method: 'POST',
      url: `/v1/apps/${appOfB.id}/versions`,
      headers: { ...b.auth, 'content-type': 'application/octet-stream' },
      payload: await readFile(await makePackage({ id: appOfB.package_id, versionCode: 1, key: signingKeyOfB })),
    });
    expect(uploadOfB.statusCode, uploadOfB.body).toBe(202);
    // The checks run as jobs: the versions wait for review once they have run.
    await runJobs(p);
    const crash = await p.app.inject({
      method: 'POST',
      url: '/v1/telemetry/crashes',
      payload: { app_id: app.package_id, app_version: '1.0.1', mosis_version: '1.4.0', device_id: 'device-1', timestamp: clock.now().toISOString(), crash: { type: 'lua_error', message: 'main.lua:3: boom', stack_trace: "stack traceback:\n\tmain.lua:3: in function 'f'" } },
    });
    expect(crash.statusCode, crash.body).toBe(202);
    const apiKey = await createKey(a, { scopes: ['apps:read'] });
    const webhook = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/webhooks`, headers: a.auth, payload: { url: 'https://hooks.example.com/mosis', events: ['*'] } });
    expect(webhook.statusCode, webhook.body).toBe(201);
    const ping = await p.app.inject({ method: 'POST', url: `/v1/apps/${app.id}/webhooks/${webhook.json<{ id: string }>().id}/ping`, headers: a.auth });
    expect(ping.statusCode, ping.body).toBe(202);
    const deadJob = '0193a000-0000-7000-8000-00000000dead';
    const discardJob = '0193a000-0000-7000-8000-0000000d15ca';
    const at = clock.now().toISOString();
    const dead = (id: string) => ({ id, kind: 'idor.matrix', key: null, payload: '{}', state: 'dead' as const, attempts: 1, max_attempts: 1, run_at: at, locked_until: null, locked_by: null, last_error: 'gave up', created_at: at, updated_at: at, finished_at: at });
    await p.database.db.insertInto('jobs').values([dead(deadJob), dead(discardJob)]).execute();
    const secondLogin = await p.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: a.email, password: PASSWORD } });
    expect(secondLogin.statusCode, secondLogin.body).toBe(200);
    const sessionsOfA = await p.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: bearer(secondLogin.json<{ access_token: string }>().access_token) });
    const sessionOfA = sessionsOfA.json<{ items: { id: string; current: boolean }[] }>().items.find((s) => s.current)?.id ?? '';
    expect(sessionOfA).not.toBe('');

    f = {
      app: app.id,
      otherApp: otherApp.id,
      appOfB: appOfB.id,
      listingLocale: 'de',
      screenshot: shot.json<{ id: string }>().id,
      version: upload.json<{ id: string }>().id,
      apiKey: apiKey.id,
      signingKey: signingKey.id,
      userA: a.id,
      deadJob,
      discardJob,
      sessionOfA,
      reviewVersion: uploadOfB.json<{ id: string }>().id,
      releaseApp: releaseApp.id,
      releaseVersion,
      image,
      crashGroup: crash.json<{ group_id: string }>().group_id,
      nextPackage,
      webhook: webhook.json<{ id: string }>().id,
      webhookDelivery: ping.json<{ id: string }>().id,
    };

    const allScopes = [...API_KEY_SCOPES];
    const keyOfB = await createKey(b, { scopes: allScopes });
    const restrictedKeyOfA = await createKey(a, { scopes: allScopes, app_ids: [otherApp.id] });
    const readKeyOfA = await createKey(a, { scopes: ['apps:read'] });
    const missingApp = await p.app.inject({ method: 'GET', url: '/v1/apps/no-such-app', headers: b.auth });
    const missingDetail = missingApp.json<{ detail: string }>().detail;

    /** Another developer: A's things answer exactly like things that do not exist. */
    const stranger = (rule: Rule, call: Call, res: LightMyRequestResponse) => {
      if (rule.kind === 'admin') return refused(res, [403]);
      const appRoute = call.route.split(' ')[1]?.startsWith('/v1/apps/:app_id') === true;
      const onAppOfA = appRoute && call.url.startsWith(`/v1/apps/${f.app}`);
      if (!onAppOfA) return refused(res, [404]);
      const wrong = refused(res, [404], 'app_not_found');
      if (wrong !== null) return wrong;
      return JSON.parse(res.body).detail === missingDetail ? null : `detail differs from a missing app's: ${res.body}`;
    };
    callers = [
      { name: 'developer B (signed in)', headers: b.auth, ownApp: (x) => x.appOfB, judge: stranger },
      {
        name: "B's API key with every scope",
        headers: bearer(keyOfB.key),
        ownApp: (x) => x.appOfB,
        judge: (rule, call, res) => (rule.kind === 'owned' && rule.userOnly ? refused(res, [403], 'api_key_not_allowed') : stranger(rule, call, res)),
      },
      {
        name: "A's API key restricted to A's other app",
        headers: bearer(restrictedKeyOfA.key),
        ownApp: (x) => x.otherApp,
        judge: (_rule, _call, res) => refused(res, [403, 404]),
      },
      {
        // Not an ownership case, a scope one: reads of A's things pass (so the key works), writes do not.
        name: "A's API key with only apps:read",
        headers: bearer(readKeyOfA.key),
        judge: (rule, call, res) => {
          if (rule.kind === 'admin') return refused(res, [403]);
          if (rule.kind === 'owned' && rule.userOnly) return refused(res, [403], 'api_key_not_allowed');
          // Analytics and crash groups are read with telemetry:read, everything else with apps:read.
          const telemetryRead = /\/(analytics|crashes)/.test(call.route);
          if (call.method === 'GET' && !telemetryRead) return res.statusCode === 200 ? null : `expected 200, got ${res.statusCode}: ${res.body.slice(0, 200)}`;
          return refused(res, [403], 'insufficient_scope');
        },
      },
      { name: 'nobody (no credentials)', headers: {}, judge: (_rule, _call, res) => refused(res, [401], 'unauthorized') },
    ];
  });

  afterAll(async () => {
    await stop();
  });

  /** The calls of every classified route with A's ids; with `caller`, also A's children under the caller's own app. */
  function calls(kinds: Rule['kind'][], caller?: Caller): { rule: Rule; call: Call }[] {
    const out: { rule: Rule; call: Call }[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const rule = RULES[key];
      if (!rule || rule.kind === 'public' || !kinds.includes(rule.kind)) continue;
      for (const c of rule.cases(f)) {
        out.push({ rule, call: { route: key, method: route.method, url: fill(route.url, c.params), body: c.body } });
        if (rule.kind === 'owned' && rule.childOf && caller?.ownApp) {
          const params = { ...c.params, [rule.childOf]: caller.ownApp(f) };
          out.push({ rule, call: { route: key, method: route.method, url: fill(route.url, params), body: c.body } });
        }
      }
    }
    return out;
  }

  it('classifies every route of the portal that names something by id, and no route that is gone', () => {
    const keys = new Set(routes.map((r) => `${r.method} ${r.url}`));
    // The table is read from Fastify: if it came back empty or partial, the matrix would be vacuous.
    expect(keys).toContain('GET /v1/apps/:app_id');
    expect(keys).toContain('POST /v1/apps');
    const unclassified = routes.filter((r) => needsRule(r) && RULES[`${r.method} ${r.url}`] === undefined).map((r) => `${r.method} ${r.url}`);
    expect(unclassified, 'routes that take an id (or are admin routes) but are not in RULES of idor-matrix.test.ts: classify each as owned, admin or public').toEqual([]);
    expect(Object.keys(RULES).filter((k) => !keys.has(k)), 'RULES entries for routes the portal no longer has').toEqual([]);
    const badCases: string[] = [];
    for (const route of routes) {
      const rule = RULES[`${route.method} ${route.url}`];
      if (!rule || rule.kind === 'public') continue;
      for (const c of rule.cases(f)) {
        if (paramsOf(route.url).join() !== Object.keys(c.params).sort().join()) badCases.push(`${route.method} ${route.url}: fills ${Object.keys(c.params).join(', ') || 'nothing'}`);
      }
    }
    expect(badCases, 'cases whose parameters do not match the route').toEqual([]);
  });

  it.each(CALLERS)("refuses %s on every route of A's things and changes nothing", async (name) => {
    const caller = callers.find((c) => c.name === name);
    if (!caller) throw new Error(`no caller ${name}`);
    // Per caller, so a hole shows under the caller who made it and not under every one after.
    const before = await snapshot(p);
    const wrong: string[] = [];
    const tried = calls(['owned', 'admin'], caller);
    for (const { rule, call } of tried) {
      const res = await send(p, caller.headers, call);
      const why = caller.judge(rule, call, res);
      if (why !== null) wrong.push(`${call.method} ${call.url}: ${why}`);
    }
    expect(tried.length).toBeGreaterThan(20);
    expect(wrong, `${caller.name} was not refused as it must be`).toEqual([]);
    expect(await snapshot(p), `${caller.name} changed stored data`).toEqual(before);
  });

  it('lets the owner (and, on admin routes, an admin) make the same calls, so the refusals are about who calls', async () => {
    // Writes before deletes, deeper deletes before the app's own, admin routes (which suspend A) last.
    const depth = (c: Call) => c.url.split('/').length;
    const rank = (rule: Rule, c: Call) => (rule.kind === 'admin' ? 2 : c.method === 'DELETE' ? 1 : 0);
    const ordered = calls(['owned', 'admin']).sort((x, y) => rank(x.rule, x.call) - rank(y.rule, y.call) || (rank(x.rule, x.call) === 1 ? depth(y.call) - depth(x.call) : 0));
    const failed: string[] = [];
    for (const { rule, call } of ordered) {
      const res = await send(p, rule.kind === 'admin' ? admin.auth : a.auth, call);
      if (res.statusCode >= 300) failed.push(`${call.method} ${call.url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    expect(failed).toEqual([]);
    const apps = await p.database.db.selectFrom('apps').select(['id', 'owner_id']).orderBy('id').execute();
    expect(apps.map((x) => x.id).sort()).toEqual([f.otherApp, f.appOfB, f.releaseApp].sort());
    expect((await p.database.db.selectFrom('users').select('status').where('id', '=', a.id).executeTakeFirstOrThrow()).status).toBe('suspended');
  });
});
