import { setTimeout as sleep } from 'node:timers/promises';
import { prepareMigratedDatabase } from '../../support/portal.js';
import { freePort, runPortal, type ServerProcess } from '../../support/server-process.js';
import { distBuilt } from '../../support/dist.js';

/**
 * A real `mosis-portal serve` (the run's build of dist/, the web UI included) for the browser to
 * talk to: its own SQLite database (a copy of the run's migrated one) and DATA_DIR, and BASE_URL
 * set to the address it listens on, so the links in its mails open in the same browser.
 */
export interface WebPortal {
  baseUrl: string;
  dataDir: string;
  /** The portal's DATABASE_URL, for a test that reads (or sets up) what the API cannot. */
  databaseUrl: string;
  server: ServerProcess;
  stop(): Promise<void>;
}

export async function startWebPortal(env: Record<string, string> = {}): Promise<WebPortal> {
  await distBuilt();
  const database = await prepareMigratedDatabase('sqlite');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = runPortal(['serve'], {
    DATA_DIR: database.dataDir,
    DATABASE_URL: database.databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: baseUrl,
    LOG_LEVEL: 'warn',
    ...env,
  });
  let exited = false;
  void server.exited.then(() => (exited = true));
  const stop = async () => {
    if (!exited) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await database.cleanup();
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return { baseUrl, dataDir: database.dataDir, databaseUrl: database.databaseUrl, server, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  server.child.kill('SIGKILL');
  await stop();
  throw new Error(`the portal did not become ready:\n${server.output()}`);
}
