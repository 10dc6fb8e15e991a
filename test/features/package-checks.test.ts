import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPublicKey } from '../../src/package/keys.js';
import { createApp, expectProblem, registerUser, type TestUser } from '../support/api.js';
import { HOSTILE_APP_ID, HostileWorkshop, PATHOLOGICAL_CASES } from '../support/hostile.js';
import { registerSigningKey } from '../support/packages.js';
import { startPortal, type TestPortal } from '../support/portal.js';

/**
 * Package checks never hold up the portal: they run on worker threads under a budget. Nothing
 * here differs by database, so it runs on SQLite only.
 */

let workshop: HostileWorkshop;
let heavy: Buffer;
let clean: Buffer;

beforeAll(async () => {
  workshop = await HostileWorkshop.open();
  clean = await readFile(await workshop.build('clean'));
  // About 2 MiB of honest Lua: a second or more of parsing and analysis.
  const lua = Array.from({ length: 40_000 }, (_, i) => `local v${i} = { name = "item ${i}", size = ${i} * 2 }`).join('\n');
  heavy = await readFile(await workshop.build('heavy', (app) => app.write('assets/scripts/heavy.lua', lua)));
});
afterAll(async () => {
  await workshop.close();
});

async function developer(p: TestPortal): Promise<{ dev: TestUser; appId: string }> {
  const dev = await registerUser(p);
  await registerSigningKey(p, dev, { privateKey: workshop.key, publicKeyBase64: rawPublicKey(workshop.publicKey).toString('base64') });
  const app = await createApp(p, dev, HOSTILE_APP_ID);
  return { dev, appId: app.id };
}

function upload(p: TestPortal, dev: TestUser, appId: string, body: Buffer) {
  return p.app.inject({ method: 'POST', url: `/v1/apps/${appId}/versions`, headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, payload: body });
}

async function withPortal(env: Record<string, string>, deps: Parameters<typeof startPortal>[2], body: (p: TestPortal) => Promise<void>): Promise<void> {
  const { portal, stop } = await startPortal('sqlite', env, deps);
  try {
    await body(portal);
  } finally {
    await stop();
  }
}

describe('package checks off the event loop', () => {
  it('keeps answering /healthz within 200 ms while pathological packages are checked', async () => {
    const packages = await Promise.all(PATHOLOGICAL_CASES.map(async (hostile) => readFile(await hostile.make(workshop))));
    await withPortal({}, {}, async (p) => {
      const { dev, appId } = await developer(p);
      await p.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(p.app.server.address() as AddressInfo).port}`;
      // Two at a time: as many as one developer may have in flight, enough to keep the checks busy.
      const inFlight = pLimit(2);
      const uploads = Promise.all(
        packages.map(async (body) => inFlight(async () => {
          const res = await fetch(`${base}/v1/apps/${appId}/versions`, { method: 'POST', headers: { ...dev.auth, 'content-type': 'application/octet-stream' }, body });
          await res.arrayBuffer();
          return res.status;
        })),
      );
      let done = false;
      void uploads.finally(() => {
        done = true;
      });
      // The portal shares this process's event loop: a check that held it up would delay the
      // pause between two polls as much as a poll itself, so both count.
      const PAUSE_MS = 20;
      const latencies: number[] = [];
      while (!done) {
        const started = performance.now();
        const res = await fetch(`${base}/healthz`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
        latencies.push(performance.now() - started - PAUSE_MS);
      }
      const statuses = await uploads;
      // Every package got its verdict: refused, or (warnings only) taken, or a duplicate of one taken.
      for (const status of statuses) expect([201, 409, 422]).toContain(status);
      expect(statuses.filter((status) => status === 422).length).toBeGreaterThanOrEqual(10);
      // Polled all along the checks, which take seconds in all.
      expect(latencies.length).toBeGreaterThan(10);
      expect(Math.max(...latencies)).toBeLessThan(200);
    });
  });

  it('refuses a package whose checks run over the time budget, records it failed, and checks the next one', async () => {
    // Its own checker, built from the configured budget.
    await withPortal({ PACKAGE_CHECK_TIMEOUT_MS: '300' }, { packageChecker: undefined }, async (p) => {
      const { dev, appId } = await developer(p);
      const refused = await upload(p, dev, appId, heavy);
      const problem = expectProblem(refused, 422, 'package_invalid');
      expect(JSON.stringify(problem)).toContain('check_budget_exceeded');
      expect(await p.database.db.selectFrom('versions').select(['status']).execute()).toEqual([{ status: 'failed' }]);
      expect(await storedBlobCount(p)).toBe(0);

      const taken = await upload(p, dev, appId, clean);
      expect(taken.statusCode, taken.body).toBe(201);
      expect(taken.json()).toMatchObject({ status: 'pending_review' });
    });
  });

  it('lets one developer have 2 uploads in flight, not more', async () => {
    await withPortal({}, {}, async (p) => {
      const greedy = await developer(p);
      const answers = await Promise.all([heavy, heavy, heavy].map((body) => upload(p, greedy.dev, greedy.appId, body)));
      const refused = answers.filter((res) => res.statusCode === 429);
      expect(refused).toHaveLength(1);
      expectProblem(refused[0] ?? answers[0]!, 429, 'uploads_in_progress');
      // The other two were received and checked: one taken, one a duplicate version of it.
      expect(answers.filter((res) => res.statusCode !== 429).map((res) => res.statusCode).sort()).toEqual([201, 409]);
      // Once they are done, the same developer may upload again.
      expect((await upload(p, greedy.dev, greedy.appId, clean)).statusCode).toBe(409);
    });
  });

  it('answers 503 checks_busy with Retry-After when more packages wait than the queue holds, storing nothing for them', async () => {
    await withPortal({ PACKAGE_CHECK_THREADS: '1', PACKAGE_CHECK_QUEUE: '0' }, { packageChecker: undefined }, async (p) => {
      const { dev, appId } = await developer(p);
      const answers = await Promise.all([heavy, heavy, heavy].map((body) => upload(p, dev, appId, body)));
      const busy = answers.filter((res) => res.statusCode === 503);
      expect(busy.length).toBeGreaterThanOrEqual(1);
      for (const res of busy) {
        expectProblem(res, 503, 'checks_busy');
        expect(res.headers['retry-after']).toBe('30');
      }
      const checked = answers.filter((res) => res.statusCode !== 503);
      expect(checked.length).toBeGreaterThanOrEqual(1);
      // Only the checked upload left a version; the refused ones left nothing in staging either.
      expect(await p.database.db.selectFrom('versions').select(['status']).execute()).toHaveLength(1);
      expect(await storedBlobCount(p)).toBe(1);
    });
  });
});

async function storedBlobCount(p: TestPortal): Promise<number> {
  let count = 0;
  for await (const hash of p.blobs.list()) if (hash !== '') count++;
  return count;
}
