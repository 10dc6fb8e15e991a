import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger, LoggerOptions } from 'pino';
import type { LogLevel } from '../config/index.js';

/**
 * Secrets never reach the log: credentials in headers, and any field that carries a password,
 * token or key wherever it appears in a logged object.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.key',
  '*.secret',
  '*.totp_code',
  '*.code',
  '*.current_password',
  '*.csrf_token',
  '*.recovery_codes',
  '*.otpauth_url',
];

// One-time values that arrive in query strings (an OAuth callback's code and state, a link's
// token), and a device's installed apps (the store's update check) which with its address would
// profile the device.
const SECRET_QUERY = /([?&](?:code|state|token|key|pkgs)=)[^&#]*/gi;

interface LoggedRequest {
  method: string;
  url: string;
  version?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer, with secret query values replaced. */
function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url.replace(SECRET_QUERY, '$1[redacted]'),
    version: request.version,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** The portal's one logger's options: the core creates it, the server logs requests through it. */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  };
}

/**
 * One log line per request, written when it ends: its method, URL (secrets redacted), client,
 * status, response time and request id. Fastify's default is two lines (one as the request
 * arrives, one as it ends): 13% of the CPU of a small logged answer, half of it the second line.
 * A request whose client goes away before the answer is logged as aborted (`logAbortedRequest`).
 * Routes quieter than info (the health checks, the store's reads) write a line only for an answer
 * of 400 or above or one slower than a second.
 */
const SLOW_MS = 1000;

export class RequestLog extends LogController {
  /**
   * The completed-request line's logger, without the redaction paths: that line carries only the
   * serialized request (method, URL with secret query values replaced, client; no headers, no
   * body), the status and the time, so walking the redaction paths over it (10% of the CPU of a
   * store answer) protects nothing. Error lines keep the redacting logger: an error may carry anything.
   */
  private readonly completed: FastifyBaseLogger;

  constructor(logger: FastifyBaseLogger) {
    super();
    this.completed = logger.child({}, { redact: [] });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    const line = { reqId: request.id, req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    // The request's own logger knows the route's level. Quiet routes (the health checks, the
    // store's device reads: thousands a minute, a line each would be most of the log and a fifth
    // of their CPU) still write the answers worth a look: refused, failed or slow.
    if ((reply.log as Logger).isLevelEnabled('info')) this.completed.info(line, 'request completed');
    else if (reply.statusCode >= 400 || reply.elapsedTime >= SLOW_MS) this.completed.warn(line, 'request completed');
  }
}

/** The onRequestAbort hook's line: no answer went out, so `requestCompleted` never runs. */
export function logAbortedRequest(request: FastifyRequest): void {
  request.log.info({ req: request }, 'request aborted by the client');
}
