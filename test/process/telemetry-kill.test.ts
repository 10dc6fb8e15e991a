import { readFile } from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makePackage } from '../support/packages.js';
import { ID, openUpload, setUp, until, versionStatuses } from '../support/portal-process.js';
import { prepareMigratedDatabase } from '../support/portal.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const EVENTS_PER_BATCH = 100;
const SENDERS = 6;
/** Batches acknowledged before the kill: the senders keep going, so more are on their way when it lands. */
const ACKNOWLEDGED_BEFORE_KILL = 40;

/** Events per batch marker (each batch's events name their batch as the screen), read from the file itself. */
function batchesOnDisk(file: string): Map<string, number> {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare<[], { batch: string; n: number }>("select json_extract(data, '$.screen') as batch, count(*) as n from telemetry_events group by batch").all();
    return new Map(rows.map((r) => [r.batch, r.n]));
  } finally {
    db.close();
  }
}

// SQLite: the telemetry file's own WAL and FULL sync are what "202 means on disk" rests on there; on
// PostgreSQL a 202 follows a commit, which the database's own tests cover. Its own file so it runs
// beside the other process tests.
describe('the mosis-portal process: telemetry and kill -9 [sqlite]', () => {
  it('keeps every batch it answered 202 to, whole, and no batch in part, across a kill -9 in the middle of concurrent ingestion', async () => {
    const database = await prepareMigratedDatabase('sqlite');
    // No rate limits: six senders on one address would spend its budget.
    const env = { DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl, TELEMETRY_RATE_LIMIT_PER_MINUTE: '0', TELEMETRY_DEVICE_RATE_LIMIT_PER_MINUTE: '0' };
    const file = path.join(database.dataDir, 'telemetry.db');
    let server: ServerProcess | undefined;
    let again: ServerProcess | undefined;
    try {
      server = await startServer(env);
      const { token, key, appId } = await setUp(server);
      const uploaded = openUpload(server, appId, token);
      uploaded.req.end(await readFile(await makePackage({ id: ID, key })));
      expect((await uploaded.answer).status).toBe(202);
      await until(async () => (await versionStatuses(database.databaseUrl, database.dataDir)).includes('pending_review'), 'the version to pass its checks');

      const running = server;
      const acknowledged = new Set<string>();
      let next = 0;
      let killed = false;
      const now = Date.now();
      const send = async (sender: number): Promise<void> => {
        while (!killed) {
          const batch = `batch-${next++}`;
          const body = {
            app_id: ID,
            app_version: '1.0.1',
            mosis_version: '1.4.0',
            device_id: `device-${sender}`,
            session_id: batch,
            events: Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({ type: 'screen_view', timestamp: now - i, data: { screen: batch } })),
          };
          let answer: { status: number; body: unknown };
          try {
            const res = await fetch(`${running.baseUrl}/v1/telemetry/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
            answer = { status: res.status, body: await res.json() };
          } catch {
            return; // the process is gone: this batch was never answered
          }
          expect(answer.status, JSON.stringify(answer.body)).toBe(202);
          expect(answer.body).toMatchObject({ accepted: EVENTS_PER_BATCH, rejected: 0 });
          acknowledged.add(batch);
          if (acknowledged.size >= ACKNOWLEDGED_BEFORE_KILL && !killed) {
            killed = true;
            running.child.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: SENDERS }, (_, i) => send(i)));
      expect((await running.exited).signal).toBe('SIGKILL');
      // Dozens of requests, one thread: nothing piled up per request (it once added a listener to the pool each time).
      expect(running.output()).not.toContain('MaxListenersExceededWarning');
      expect(acknowledged.size).toBeGreaterThanOrEqual(ACKNOWLEDGED_BEFORE_KILL);

      // The next start on the same DATA_DIR opens the file (its WAL recovered) and takes events again.
      again = await startServer(env);
      const onDisk = batchesOnDisk(file);
      for (const batch of acknowledged) expect(onDisk.get(batch), `${batch} was answered 202`).toBe(EVENTS_PER_BATCH);
      // Batches cut off by the kill are there whole or not at all.
      for (const [batch, n] of onDisk) expect(n, `${batch} is half-written`).toBe(EVENTS_PER_BATCH);
      const after = await fetch(`${again.baseUrl}/v1/telemetry/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ app_id: ID, app_version: '1.0.1', mosis_version: '1.4.0', device_id: 'device-after', session_id: 'after', events: [{ type: 'screen_view', timestamp: Date.now(), data: { screen: 'after' } }] }),
      });
      expect(after.status).toBe(202);
      expect(batchesOnDisk(file).get('after')).toBe(1);
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    } finally {
      server?.child.kill('SIGKILL');
      again?.child.kill('SIGKILL');
      await database.cleanup();
    }
  });
});
