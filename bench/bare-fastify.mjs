/**
 * The floor under the portal's request path: Fastify with no plugin, no hook and no logger,
 * answering GET /hello with a constant JSON object. Run it next to `mosis-portal serve` and put
 * the same wrk load on both (`wrk -t1 -c50 -d10s`); the gap is what the portal's plumbing costs.
 *
 *   PORT=8124 node bench/bare-fastify.mjs
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', () => ({ hello: 'world' }));
await app.listen({ port: Number(process.env.PORT ?? 8124), host: '127.0.0.1' });
console.log(`bare fastify on ${app.server.address().port}`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
