import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options as PinoHttpOptions } from 'pino-http';

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/**
 * The request id: the client's `x-request-id` when it is a sane token, otherwise a new UUID.
 * It is echoed on every response, so the caller and our logs name the same request. Idempotent per response.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const assigned = res.getHeader('x-request-id');
  if (typeof assigned === 'string') return assigned;
  const offered = req.headers['x-request-id'];
  const id = typeof offered === 'string' && REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/**
 * Paths pino removes from every line: credentials in any header or field, and message bodies. Keys, tokens and
 * prompts must never reach a log line, whichever object a caller happens to log.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.authKey',
  '*.accessToken',
  '*.access_token',
  '*.refresh_token',
  '*.password',
  '*.secret',
  '*.token',
  '*.messages',
  '*.input',
  '*.body',
];

export interface LoggerSettings {
  level: string;
  pretty: boolean;
}

/** pino-http options shared by the gateway; one JSON line per request with ids, status and latency only. */
export function buildHttpLoggerOptions(settings: LoggerSettings): PinoHttpOptions {
  return {
    level: settings.level,
    genReqId: assignRequestId,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    transport: settings.pretty ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
  };
}
