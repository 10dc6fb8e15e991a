/**
 * A portal-like process that runs one job worker and nothing else, for the crash test in
 * test/jobs/jobs.test.ts: its handler makes its effect, says so on stdout, then hangs until the
 * test kills the process with SIGKILL. Usage: node --import tsx test/support/job-worker.ts <DATABASE_URL> <DATA_DIR>
 */
import { loadConfig } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { JobQueue, JobWorker } from '../../src/jobs/index.js';
import { systemClock, systemIds } from '../../src/shared/index.js';
import { recordEffect } from './jobs.js';

const [databaseUrl, dataDir] = process.argv.slice(2);
const config = loadConfig({ DATABASE_URL: databaseUrl, DATA_DIR: dataDir });
const database = openDatabase(config.database);
const queue = new JobQueue({ clock: systemClock, ids: systemIds(systemClock) });
queue.define<{ effect: string }>('test.effect', {
  handler: async (job) => {
    await recordEffect(database.db, job.payload.effect, job.id);
    process.stdout.write(`effect made by attempt ${job.attempt}\n`);
    // Hang like a handler stuck on a slow SMTP server: only SIGKILL ends this process.
    await new Promise(() => setInterval(() => undefined, 1000));
  },
});
const log = { info: () => undefined, warn: () => undefined, error: (o: object, m: string) => process.stderr.write(`${m} ${JSON.stringify(o)}\n`) };
const worker = new JobWorker({ db: database.db, dialect: database.dialect, queue, clock: systemClock, ids: systemIds(systemClock), log, leaseMs: 1_000, pollMs: 20 });
worker.start();
// Keeps the process alive: the worker's timers are unref'd like a server's helpers.
setInterval(() => undefined, 60_000);
