import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { commonError, payloadTooLarge, type AppError } from '../shared/index.js';

/** Raw upload bodies are handed to the route as a stream, never collected in memory. */
export const RAW_UPLOAD_TYPES = ['application/octet-stream', 'application/vnd.mosis.package', 'application/zip'];

/**
 * Makes a scope take uploads: multipart bodies (streamed too: nothing is attached to the body, each
 * route pulls its file) and raw package bodies. Only the upload routes' scopes call it: multipart
 * hangs two promise hooks and a listener on every request of its scope, a tenth of the CPU of a
 * store answer, and elsewhere a file body is refused (415) before anything reads it.
 */
export async function registerUploads(app: FastifyInstance): Promise<void> {
  await app.register(multipart, { throwFileSizeLimit: true });
  app.addContentTypeParser(RAW_UPLOAD_TYPES, (_request, payload, done) => done(null, payload));
}

export interface UploadOptions {
  /** The multipart field that carries the file. */
  field: string;
  maxBytes: number;
  /** The error when the multipart body has no such field (e.g. the versions catalogue's `package_missing`), given the detail. */
  missing: (detail: string) => AppError;
  /** How to send the file, told to a client that sent it wrongly. */
  how: string;
}

/**
 * The uploaded file of a request, as a stream: either the multipart field `field` or a raw body.
 * A Content-Length above the limit is refused before a byte is read.
 */
export async function uploadStream(request: FastifyRequest, options: UploadOptions): Promise<Readable> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > options.maxBytes + 64 * 1024) throw payloadTooLarge(options.maxBytes);

  if (request.isMultipart()) {
    // One more byte than the limit, so the storage layer's own meter is what trips (one error path).
    const part = await request.file({ limits: { fileSize: options.maxBytes + 1, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 11 } });
    if (!part) throw options.missing(options.how);
    if (part.fieldname !== options.field) {
      part.file.resume();
      throw options.missing(`${options.how} (got the field "${part.fieldname}")`);
    }
    return part.file;
  }
  const body = request.body as Readable | undefined;
  if (!body || typeof body.pipe !== 'function') {
    throw commonError('unsupported_media_type', options.how);
  }
  return body;
}
