import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import { ifNoneMatch } from '../../http/conditional.js';
import { emptyBody } from '../../http/head-body.js';
import type { FeatureRoutes } from '../../http/feature-routes.js';
import { clientBudgetKey, RateLimiter } from '../../http/rate-limit.js';
import { problemsOf } from '../../http/schemas.js';
import { AppError, commonError, commonErrors, type Clock } from '../../shared/index.js';
import { byteRange } from './byte-range.js';
import { preferredLanguages } from './locale-choice.js';
import { platformRank, type DeviceProfile } from './rollout.js';
import type { SignedIndex } from './signed-index.js';
import { storeError, storeErrors } from './store.errors.js';
import type { CachedBody, StoreService } from './store.service.js';
import {
  catalogPage,
  catalogQuery,
  categoriesResponse,
  deviceHeaders,
  packageId,
  packageParams,
  parsePairs,
  versionHistoryPage,
  versionHistoryQuery,
  storeAppDetail,
  updatesBody,
  updatesQuery,
  updatesResponse,
} from './store.schemas.js';

const problems = problemsOf(storeErrors, commonErrors);
const tags = ['store'];
const JSON_TYPE = 'application/json; charset=utf-8';
const PACKAGE_TYPE = 'application/vnd.mosis.package';
/**
 * Device reads log only refused, failed and slow answers (http/logging.ts): every device calls
 * them, a line each would fill a NAS's log and cost a fifth of their CPU. Downloads are counted
 * (GET /v1/apps/{id}/downloads), and errors keep their full line.
 */
const QUIET = 'warn';
/**
 * Distinct devices a day one client address may add to an app's download count. A device counts
 * once a day, but device ids are the caller's to invent: without this one address could climb the
 * "popular" order at will. A household or office behind one address stays far below it.
 */
export const COUNTED_DOWNLOADS_PER_ADDRESS = 100;
const DAY_MS = 86_400_000;

type DeviceHeaders = z.infer<typeof deviceHeaders>;

function deviceOf(headers: DeviceHeaders): DeviceProfile {
  const version = headers['x-mosis-version'];
  return { beta: headers['x-mosis-channel'] === 'beta', platform: version === undefined ? null : platformRank(version), deviceId: headers['x-mosis-device'] ?? null };
}

/** A cacheable JSON answer: 304 when the client has it, otherwise the serialized body. */
function sendCached(request: FastifyRequest, reply: FastifyReply, answer: CachedBody, cacheControl: string): FastifyReply {
  void reply.header('etag', answer.etag).header('cache-control', cacheControl);
  if (ifNoneMatch(request.headers['if-none-match'], answer.etag)) return reply.code(304).send();
  return reply.type(JSON_TYPE).send(answer.body);
}

/**
 * The device-facing store: catalog, search, details, update checks, downloads and the signed
 * index. Public, and rate-limited per client address (STORE_RATE_LIMIT_PER_MINUTE).
 */
export const storeRoutes: FeatureRoutes<{ store: StoreService; storeIndex: SignedIndex; config: Config; clock: Clock }> = (app, { core }) => {
  const { store, storeIndex, config } = core;
  // Per instance, in memory, on purpose: this budget is charged on every store request, the
  // portal's hottest path (served from the in-memory read model), where a database round trip per
  // request would cost more than the answer. Behind N instances an address gets up to N times
  // STORE_RATE_LIMIT_PER_MINUTE (README.md). A table of its own: a flood of addresses never
  // pushes the sign-in limits' counters out.
  const rateLimiter = new RateLimiter(core.clock);
  // Its own table: counters an address fills for a day (one per address and app) must never crowd
  // out the per-minute ones. Full of those, it counts no more. Per instance too: behind N instances
  // an address may add up to N times COUNTED_DOWNLOADS_PER_ADDRESS devices a day (README.md).
  const countedPerAddress = new RateLimiter(core.clock);
  const perMinute = config.store.rateLimitPerMinute;
  /**
   * Counts `units` requests against the client's budget (`name` names a budget of its own); an
   * expensive request (a long update check, a search) counts as several cheap ones.
   */
  const charge = (request: FastifyRequest, reply: FastifyReply, units: number, name = 'store', max = perMinute): void => {
    if (perMinute === 0) return;
    const key = `${name}:${clientBudgetKey(request.ip)}`;
    for (let i = 0; i < units; i += 1) {
      const wait = rateLimiter.hit(key, max, 60_000);
      if (wait !== null) {
        void reply.header('retry-after', String(wait));
        throw commonError('rate_limited', `Too many requests; retry after ${wait} seconds.`);
      }
    }
  };
  // A synchronous hook (no promise per request), and none at all when the limit is off.
  if (perMinute > 0) {
    app.addHook('onRequest', (request, reply, done) => {
      try {
        charge(request, reply, 1);
        done();
      } catch (err) {
        done(err as Error);
      }
    });
  }
  // A store that is starting, or whose search is busy, says when to come back.
  app.addHook('onError', async (_request, reply, error) => {
    if (error instanceof AppError && error.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '5');
  });
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/v1/store/apps',
    {
      logLevel: QUIET,
      schema: {
        tags,
        summary: 'Published apps: browse by category and order, or search',
        description:
          'Names and summaries follow Accept-Language (falling back to the default listing). With q, a full-text search over name, summary, description, category and package id in every locale, each word a prefix, best match first (at most 1 000 matches).',
        querystring: catalogQuery,
        response: { 200: catalogPage, 304: z.undefined().describe('Not modified'), ...problems('validation_failed', 'invalid_cursor', 'rate_limited') },
      },
    },
    async (request, reply) => {
      // A search runs a full-text query: it also draws on a smaller budget of its own.
      if (request.query.q !== undefined) charge(request, reply, 1, 'store-search', Math.max(1, Math.ceil(perMinute / 10)));
      const answer = await store.catalog(request.query, preferredLanguages(request.headers['accept-language']));
      void reply.header('vary', 'accept-language');
      return sendCached(request, reply, answer, 'public, max-age=60');
    },
  );

  r.get(
    '/v1/store/categories',
    {
      logLevel: QUIET,
      schema: { tags, summary: 'Categories with the number of published apps in each', response: { 200: categoriesResponse, 304: z.undefined().describe('Not modified'), ...problems('rate_limited') } },
    },
    async (request, reply) => sendCached(request, reply, await store.categories(), 'public, max-age=60'),
  );

  const updates = async (installed: { package_id: string; version_code: number }[], headers: DeviceHeaders, request: FastifyRequest, reply: FastifyReply) => {
    // Every hundred apps beyond the first hundred count as another request.
    charge(request, reply, Math.ceil(installed.length / 100) - 1);
    const body = await store.updates(installed, deviceOf(headers));
    // Each device gets its own answer (rollout); nothing shared may keep it.
    return reply.header('cache-control', 'private, no-cache').type(JSON_TYPE).send(body);
  };
  const updatesDescription =
    'For each installed app, the newest version this device may get: published and not yanked, on its channel (X-Mosis-Channel), for its platform (X-Mosis-Version), inside the rollout (X-Mosis-Device). Only versions newer than the installed one; unknown package ids are skipped.';
  r.get(
    '/v1/store/apps/updates',
    {
      logLevel: QUIET,
      schema: { tags, summary: 'Updates for installed apps (up to 200)', description: updatesDescription, querystring: updatesQuery, headers: deviceHeaders, response: { 200: updatesResponse, ...problems('validation_failed', 'rate_limited') } },
    },
    async (request, reply) => {
      const parsed = parsePairs(request.query.pkgs);
      if ('error' in parsed) throw commonError('validation_failed', 'The pkgs parameter is invalid.', [{ path: 'querystring.pkgs', message: parsed.error }]);
      return updates(parsed.pairs, request.headers, request, reply);
    },
  );
  r.post(
    '/v1/store/apps/updates',
    {
      logLevel: QUIET,
      schema: { tags, summary: 'Updates for installed apps (up to 2 000)', description: updatesDescription, body: updatesBody, headers: deviceHeaders, response: { 200: updatesResponse, ...problems('validation_failed', 'malformed_json', 'payload_too_large', 'unsupported_media_type', 'rate_limited') } },
    },
    async (request, reply) => updates(request.body.installed, request.headers, request, reply),
  );

  r.get(
    '/v1/store/apps/:package_id',
    {
      logLevel: QUIET,
      schema: {
        tags,
        summary: "A published app's listing and the version this device may get",
        params: z.object({ package_id: packageId }),
        headers: deviceHeaders,
        response: { 200: storeAppDetail, 304: z.undefined().describe('Not modified'), ...problems('validation_failed', 'store_app_not_found', 'rate_limited') },
      },
    },
    async (request, reply) => {
      const answer = await store.detail(request.params.package_id, preferredLanguages(request.headers['accept-language']), deviceOf(request.headers));
      void reply.header('vary', 'accept-language, x-mosis-device, x-mosis-version, x-mosis-channel');
      return sendCached(request, reply, answer, 'private, max-age=60');
    },
  );

  r.get(
    '/v1/store/apps/:package_id/versions',
    {
      logLevel: QUIET,
      schema: {
        tags,
        summary: "A published app's versions, newest first",
        description:
          'Every published, non-yanked version (every channel, staged and halted rollouts too, as in the signed index), a page at a time: the version history a store front shows. Which one a device gets is the app detail\'s version.',
        params: z.object({ package_id: packageId }),
        querystring: versionHistoryQuery,
        response: { 200: versionHistoryPage, 304: z.undefined().describe('Not modified'), ...problems('validation_failed', 'invalid_cursor', 'store_app_not_found', 'rate_limited') },
      },
    },
    async (request, reply) => sendCached(request, reply, await store.versionHistory(request.params.package_id, request.query), 'public, max-age=60'),
  );

  r.get(
    '/v1/store/packages/:package_id/:file',
    {
      logLevel: QUIET,
      schema: {
        tags,
        summary: 'Download a version (<version_code>.mosis) or its store signature (<version_code>.mosis.sig)',
        description:
          'The .mosis file with a strong ETag (its SHA-256), single byte ranges (206; several ranges get the whole file; 416 outside it), If-Range, and the store signature in X-Mosis-Store-Signature with its key in X-Mosis-Store-Key. Counted once per device and version a day. A portal storing packages on S3 with STORAGE_DOWNLOADS=redirect answers 302 to a short-lived presigned URL instead of the bytes (ranges then go to that URL). .mosis.sig answers the base64 signature as text.',
        params: packageParams,
        headers: deviceHeaders,
        response: {
          200: z.unknown().meta({ description: 'The package bytes, or the base64 store signature' }),
          206: z.unknown().meta({ description: 'The requested range' }),
          302: z.undefined().describe('With STORAGE_DOWNLOADS=redirect: the package at a presigned URL of the blob store (Location), with the ETag and store signature headers'),
          304: z.undefined().describe('Not modified'),
          ...problems('validation_failed', 'store_package_not_found', 'range_not_satisfiable', 'rate_limited', 'storage_unavailable'),
        },
      },
    },
    async (request, reply) => {
      const { package_id: id, file } = request.params;
      const signatureOnly = file.endsWith('.sig');
      const code = Number(file.slice(0, file.indexOf('.')));
      if (code > 2_147_483_647) throw storeError('store_package_not_found', `Version ${code} of ${id} is not in the store.`);
      const pkg = await store.package(id, code);
      if (pkg.storeSignature !== null) void reply.header('x-mosis-store-signature', pkg.storeSignature);
      if (pkg.storeKeyId !== null) void reply.header('x-mosis-store-key', pkg.storeKeyId);
      // Store fronts on other origins link these files; everything else stays same-site.
      void reply.header('cross-origin-resource-policy', 'cross-origin');
      if (signatureOnly) {
        if (pkg.storeSignature === null) throw storeError('store_package_not_found', `Version ${code} of ${id} has no store signature.`);
        return reply.header('cache-control', 'public, max-age=31536000, immutable').type('text/plain; charset=utf-8').send(pkg.storeSignature);
      }
      const etag = `"${pkg.sha256}"`;
      void reply
        .header('etag', etag)
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-disposition', `attachment; filename="${id}-${code}.mosis"`);
      if (pkg.publishedAt !== null) void reply.header('last-modified', new Date(pkg.publishedAt).toUTCString());
      if (ifNoneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      let range = byteRange(request.headers.range, pkg.size);
      const ifRange = request.headers['if-range'];
      // A resumed download whose file changed starts over: any If-Range but our ETag or date means the whole file.
      if (ifRange !== undefined && range.kind !== 'whole' && ifRange !== etag && !(pkg.publishedAt !== null && ifRange === new Date(pkg.publishedAt).toUTCString())) {
        range = { kind: 'whole' };
      }
      if (range.kind === 'unsatisfiable') {
        void reply.header('content-range', `bytes */${pkg.size}`);
        throw storeError('range_not_satisfiable', `The file has ${pkg.size} bytes; ask for one range inside them.`);
      }
      // Read now: once the response has gone, the request may be gone with it.
      const ip = request.ip;
      const deviceId = request.headers['x-mosis-device'] ?? null;
      const count = (): void => {
        // Beyond its daily share an address's downloads are served, not counted.
        if (countedPerAddress.hit(`${clientBudgetKey(ip)}:${pkg.appId}`, COUNTED_DOWNLOADS_PER_ADDRESS, DAY_MS) === null) {
          store.countDownload(pkg, deviceId, ip);
        }
      };
      if (pkg.redirect !== null && request.method === 'GET') {
        // STORAGE_DOWNLOADS=redirect: the bucket serves the bytes (and the range); the portal still
        // answers 304, says the ETag and the signature, and counts the download it hands out. A
        // HEAD is answered here: a presigned URL is signed for GET only.
        const location = await pkg.redirect();
        count();
        return reply.code(302).header('location', location).header('cache-control', 'private, no-cache').send();
      }
      void reply.type(PACKAGE_TYPE);
      // Counted once the bytes went out: not for a HEAD, a failed read or a client that left.
      const counted = (body: Readable): Readable => {
        body.once('end', count);
        return body;
      };
      if (range.kind === 'part') {
        const body = request.method === 'HEAD' ? emptyBody() : counted(await pkg.open({ start: range.start, end: range.end }));
        void reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${pkg.size}`)
          .header('content-length', range.end - range.start + 1);
        return reply.send(body);
      }
      const body = request.method === 'HEAD' ? emptyBody() : counted(await pkg.open());
      void reply.header('content-length', pkg.size);
      return reply.send(body);
    },
  );

  r.get(
    '/v1/store/index.json',
    {
      logLevel: QUIET,
      schema: {
        tags,
        summary: 'Every published, non-yanked version, signed',
        description: 'Ed25519 signature over these exact bytes at /v1/store/index.json.sig (key in X-Mosis-Store-Key, listed at /.well-known/mosis-store-keys.json). 503 while a fresh instance builds its first index.',
        response: { 200: z.unknown().meta({ description: '{format: 1, apps: [{package_id, versions: [...]}]}' }), 304: z.undefined().describe('Not modified'), ...problems('store_index_building', 'rate_limited') },
      },
    },
    async (request, reply) => {
      const index = await currentIndex(store, storeIndex, reply);
      const etag = `"${index.etag}"`;
      void reply.header('etag', etag).header('cache-control', 'public, no-cache').header('x-mosis-store-key', index.keyId);
      if (ifNoneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
      if (request.method === 'HEAD') return reply.type(JSON_TYPE).header('content-length', index.size).send(emptyBody());
      // The file held open now, with the headers of exactly these bytes (a rebuild may have just swapped it).
      const opened = storeIndex.open();
      if (!opened) throw storeError('store_index_building', 'The signed index is being built; try again in a few seconds.');
      return reply
        .type(JSON_TYPE)
        .header('etag', `"${opened.index.etag}"`)
        .header('x-mosis-store-key', opened.index.keyId)
        .header('content-length', opened.index.size)
        .send(opened.body);
    },
  );
  r.get(
    '/v1/store/index.json.sig',
    { logLevel: QUIET, schema: { tags, summary: 'The Ed25519 signature of index.json, base64', response: { 200: z.string(), ...problems('store_index_building', 'rate_limited') } } },
    async (_request, reply) => {
      const index = await currentIndex(store, storeIndex, reply);
      return reply.header('etag', `"${index.etag}.sig"`).header('cache-control', 'public, no-cache').header('x-mosis-store-key', index.keyId).type('text/plain; charset=utf-8').send(index.signature);
    },
  );
};

async function currentIndex(store: StoreService, index: SignedIndex, reply: FastifyReply) {
  await store.start();
  const current = index.file;
  if (!current) {
    void reply.header('retry-after', '5');
    throw storeError('store_index_building', 'The signed index is being built; try again in a few seconds.');
  }
  return current;
}
