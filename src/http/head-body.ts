import { Readable } from 'node:stream';

/**
 * What a HEAD answer sends: Fastify's HEAD route drops a body, but sets Content-Length to 0 for no
 * body and reads a real stream to its end; an empty stream keeps the GET's Content-Length without
 * reading (or, on S3, downloading) the file.
 */
export function emptyBody(): Readable {
  return Readable.from([]);
}
