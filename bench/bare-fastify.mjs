/**
 * The floor under the portal's request path: Fastify with no plugin, no hook and no logger,
 * answering GET /hello with a constant JSON object. Run it next to `mosis-portal serve` and put
 * the same wrk load on both (`wrk -t1 -c50 -d10s`); the gap is what the portal's plumbing costs.
 *
 *   PORT=8124 node bench/bare-fastify.mjs
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', () => ({ hello: 'world' }));

// With FLOOR=<file> (written by bench/store.ts from the portal's own answers): the same detail and
// update-check answers, byte for byte with the same headers, sent by a bare route. What Fastify and
// the socket cost for answers that size, below any work of the portal's.
if (process.env.FLOOR) {
  const floor = JSON.parse(readFileSync(process.env.FLOOR, 'utf8'));
  app.get('/floor/detail/:id', (_request, reply) => reply.headers(floor.detail.headers).send(floor.detail.body));
  app.post('/floor/updates', (_request, reply) => reply.headers(floor.updates.headers).send(floor.updates.body));
}
await app.listen({ port: Number(process.env.PORT ?? 8124), host: '127.0.0.1' });
console.log(`bare fastify on ${app.server.address().port}`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
