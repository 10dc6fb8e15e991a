import type { FastifyServerOptions } from 'fastify';
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
];

export function loggerOptions(level: LogLevel): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
  };
}
