import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Level, type Logger, type LoggerOptions } from 'pino';
import { LineBatcher, type LineSink } from './line-batcher';

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

/** pino's options for the gateway's one logger; exported so tests can build it on a stream they read. */
export function rootLoggerOptions(settings: LoggerSettings): LoggerOptions {
  return { level: settings.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
}

/** The gateway's loggers: both write JSON lines to the same stdout stream. */
export interface GatewayLoggers {
  /** Everything Nest's `Logger` writes, redacted by {@link REDACTED_PATHS}. */
  app: Logger;
  /**
   * The one line per request ({@link requestLogMiddleware}): fixed plain fields (id, method, path, status, time),
   * never headers or bodies, so it skips redaction — which would cost more than writing the line.
   */
  requests: Logger;
}

/**
 * The process's loggers on one stdout stream. Writes are asynchronous (sonic-boom, `sync: false`): the event loop
 * never waits for stdout, and pino flushes what is queued when the process exits. Lines are gathered for a few
 * milliseconds first ({@link LineBatcher}), so the lines of many requests leave in one `write(2)` instead of one
 * thread-pool trip each. `pretty` pipes through pino-pretty (development).
 */
export function createLoggers(settings: LoggerSettings): GatewayLoggers {
  const destination = settings.pretty
    ? pino.transport({ target: 'pino-pretty', options: { singleLine: true } })
    : batched(pino.destination({ dest: 1, sync: false }));
  return {
    app: pino(rootLoggerOptions(settings), destination),
    requests: pino({ level: settings.level }, destination),
  };
}

/** A batcher in front of the destination, emptied on exit (pino's own exit flush has run by then: sync it again). */
function batched(destination: LineSink): LineBatcher {
  const batcher = new LineBatcher(destination);
  process.once('exit', () => {
    try {
      batcher.flushSync();
    } catch {
      // stdout is gone (a closed pipe): nothing can be written any more
    }
  });
  return batcher;
}

/** The level of a request's log line: server failures are errors, client errors warnings. */
function requestLogLevel(status: number): Level {
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/**
 * One log line per request when its response closes: request id, method, path (never the query), status and
 * duration — plain fields, so no request object is serialized and nothing a client sent can leak into the line.
 */
export function requestLogMiddleware(logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const started = performance.now();
    res.once('close', () => {
      const aborted = !res.writableFinished;
      const level = aborted ? 'warn' : requestLogLevel(res.statusCode);
      if (!logger.isLevelEnabled(level)) return;
      const url = req.url ?? '';
      const query = url.indexOf('?');
      logger[level](
        {
          reqId: res.getHeader('x-request-id'),
          method: req.method,
          path: query === -1 ? url : url.slice(0, query),
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 100) / 100,
        },
        aborted ? 'request aborted by the client' : 'request completed',
      );
    });
    next();
  };
}
