import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { afterEach, expect, it, vi } from 'vitest';
import { systemClock, systemIds } from '../../shared/index.js';
import { createMailer, MAX_PENDING } from './mailer.js';

/** Background mail against an SMTP server that accepts connections and never says a word. */

const sockets = new Set<Socket>();
const server = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
afterEach(() => {
  for (const socket of sockets) socket.destroy();
});

it('keeps at most 1000 messages waiting and 4 SMTP conversations open, dropping the rest with an error in the log', async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const log = { info: vi.fn(), error: vi.fn() };
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`, from: 'portal@example.com', outboxDir: tmpdir(), ids: systemIds(systemClock), log });
    for (let i = 0; i < MAX_PENDING + 5; i += 1) mailer.sendLater({ to: `dev${i}@example.com`, subject: 'Hello', text: 'Hi' });
    await expect.poll(() => sockets.size).toBe(4);
    // A moment more: no fifth conversation starts while four are waiting for their greeting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sockets.size).toBe(4);
    const dropped = log.error.mock.calls.filter(([, message]) => message === 'email dropped: too many messages are waiting to be sent');
    expect(dropped).toHaveLength(5);
    // The server goes away: every waiting message fails (logged), and the queue drains.
    server.close();
    for (const socket of sockets) socket.destroy();
    await mailer.drain();
  } finally {
    server.close();
  }
}, 20_000);
