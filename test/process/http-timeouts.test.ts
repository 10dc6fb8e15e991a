import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDatabase, type TestDatabase } from '../support/portal.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

/** What a raw connection received, and how long the server kept it open. */
interface Outcome {
  received: string;
  closedAfterMs: number;
}

/** Opens a raw TCP connection to the server, lets `talk` write to it, and waits for the server to close it. */
function converse(server: ServerProcess, talk: (socket: Socket) => void, giveUpMs: number): Promise<Outcome> {
  const { hostname, port } = new URL(server.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const started = Date.now();
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server still held the connection after ${giveUpMs} ms; it sent: ${Buffer.concat(chunks).toString('latin1')}`));
    }, giveUpMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - started });
    });
    socket.on('connect', () => talk(socket));
  });
}

/** Writes `pieces` one every `everyMs` while the socket is open. */
function drip(socket: Socket, pieces: string[], everyMs: number): void {
  const queue = [...pieces];
  const timer = setInterval(() => {
    const piece = queue.shift();
    if (socket.destroyed || piece === undefined) return clearInterval(timer);
    socket.write(piece);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

// Concurrent: each test waits out real timeouts on a connection of its own to the one server.
describe.concurrent('the mosis-portal process cuts off slow clients, not slow uploads', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  beforeAll(async () => {
    database = await prepareDatabase('sqlite');
    server = await startServer({
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.databaseUrl,
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_IDLE_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '5000',
    });
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await database.cleanup();
  });

  it('closes a connection whose headers trickle in (slowloris) with 408, though bytes keep coming', async () => {
    const outcome = await converse(
      server,
      (socket) => {
        socket.write('GET /healthz HTTP/1.1\r\nHost: portal\r\n');
        drip(socket, Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: y\r\n`), 200);
      },
      10_000,
    );
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408/);
    expect(outcome.closedAfterMs).toBeLessThan(4_000);
  });

  it('closes a connection whose body stops arriving', async () => {
    const outcome = await converse(
      server,
      (socket) => socket.write('POST /v1/auth/login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":'),
      10_000,
    );
    expect(outcome.received).toBe('');
    expect(outcome.closedAfterMs).toBeLessThan(4_000);
  });

  it('answers a body that keeps arriving slowly, for longer than the idle and headers timeouts', async () => {
    const body = JSON.stringify({ email: 'slow@example.com', password: 'not the password at all', padding: 'x'.repeat(200) });
    const pieces = body.match(/.{1,24}/g) ?? [];
    const outcome = await converse(
      server,
      (socket) => {
        socket.write(`POST /v1/auth/login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        drip(socket, pieces, 250);
      },
      15_000,
    );
    // Twelve pieces, a quarter second apart: three seconds of body, no gap near the idle second.
    expect(pieces.length).toBeGreaterThanOrEqual(10);
    expect(outcome.closedAfterMs).toBeGreaterThan(2_000);
    expect(outcome.received).toMatch(/^HTTP\/1\.1 (400|401) /);
    expect(outcome.received).toContain('application/problem+json');
  });

  it('closes a body that trickles past the request timeout with 408', async () => {
    const outcome = await converse(
      server,
      (socket) => {
        socket.write('POST /v1/auth/login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
        drip(socket, Array.from({ length: 200 }, () => ' '), 300);
      },
      15_000,
    );
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408/);
    expect(outcome.closedAfterMs).toBeGreaterThan(4_500);
    expect(outcome.closedAfterMs).toBeLessThan(9_000);
  });
});
