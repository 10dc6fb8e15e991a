/**
 * The floor under the store's package download: a bare Node HTTP server that answers every
 * request with one file through `fs.createReadStream(file).pipe(res)`, nothing else.
 *
 *   FILE=/path/to/package PORT=8125 node --import tsx bench/store-file-server.ts
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';

const file = process.env.FILE;
if (!file) throw new Error('FILE must name the file to serve');
// The portal sends Content-Length too; without it the floor would be chunked and not comparable.
const size = statSync(file).size;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  createReadStream(file).pipe(res);
});
server.listen(Number(process.env.PORT ?? 8125), '127.0.0.1', () => console.log(`file server on ${JSON.stringify(server.address())}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
