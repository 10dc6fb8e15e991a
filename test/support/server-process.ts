import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { distBuilt, distBuiltSync } from './dist.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `mosis-portal <verb>` as its own process, the way an operator would: the compiled dist/main.js,
 * which the global setup (build-dist.ts) builds once per run (waiting for that build if it is still running).
 */
export function runPortal(args: string[], env: Record<string, string>): ServerProcess & { port: number | undefined } {
  distBuiltSync();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/main.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = env['PORT'] ? Number(env['PORT']) : undefined;
  return { child, port, baseUrl: `http://127.0.0.1:${port ?? 8080}`, output: () => Buffer.concat(chunks).toString('utf8'), exited };
}

/** Starts the portal on a free port and waits until /readyz says ready. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  await distBuilt();
  const port = await freePort();
  const server = runPortal(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const deadline = Date.now() + 30_000;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${server.baseUrl}/readyz`);
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  server.child.kill('SIGKILL');
  throw new Error(`the portal did not become ready:\n${server.output()}`);
}
