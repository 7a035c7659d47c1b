import { describeErrorCode, ErrorCode } from './error-code';

export interface GatewayErrorOptions {
  /** The request field at fault (`messages[0].role`), shown as `error.param`. */
  param?: string | null;
  /** Overrides the code's default when the situation knows better (e.g. an upstream 400 is not retryable). */
  retryable?: boolean;
  /** Upstream or local `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
  /** Status the upstream answered with, kept for logs and usage rows. */
  upstreamStatus?: number;
  /** Extra response headers (rate-limit headers and the like). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The one error type of the gateway: every failure a client can see is one of these. */
export class GatewayError extends Error {
  readonly param: string | null;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly upstreamStatus?: number;
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.param = options.param ?? null;
    this.retryable = options.retryable ?? describeErrorCode(code).retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.upstreamStatus = options.upstreamStatus;
    this.headers = options.headers;
  }

  get status(): number {
    return describeErrorCode(this.code).status;
  }
}

/**
 * The one shape of "the client went away before its answer was done" — the abort reason of its signal, what the
 * router stops with and what the usage row records (499 `client_closed`). Nobody is listening for it.
 */
export function clientClosed(): GatewayError {
  return new GatewayError(ErrorCode.CLIENT_CLOSED, 'The client closed the connection');
}

/** The same error with more response headers (an error's headers are fixed when it is made). */
export function withErrorHeaders(error: GatewayError, headers: Record<string, string>): GatewayError {
  return changedError(error, { headers: { ...error.headers, ...headers } });
}

/** The same error naming another field (a route whose request names it differently: Responses' `text.format`). */
export function withErrorParam(error: GatewayError, param: string | null, message = error.message): GatewayError {
  return changedError(error, { param, message });
}

function changedError(
  error: GatewayError,
  changes: { headers?: Record<string, string>; param?: string | null; message?: string },
): GatewayError {
  const copy = new GatewayError(error.code, changes.message ?? error.message, {
    param: changes.param === undefined ? error.param : changes.param,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    upstreamStatus: error.upstreamStatus,
    headers: changes.headers ?? error.headers,
    cause: error.cause,
  });
  copy.stack = error.stack;
  return copy;
}
