import { ErrorCode, GatewayError } from '@xrouter/common';

/** `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The upstream's own message, from whichever error shape it uses (OpenAI envelope, GigaChat, Yandex gRPC). */
export function upstreamMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const error = parsed.error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
    if (typeof error === 'string') return error;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 300) || 'no message';
}

/** Maps an upstream HTTP error status to the gateway's error, keeping its message and Retry-After. */
export function upstreamHttpError(
  providerId: string,
  status: number,
  body: string,
  headers: Record<string, string | string[] | undefined>,
): GatewayError {
  const message = `${providerId}: ${upstreamMessage(body)}`;
  const base = { upstreamStatus: status, retryAfterMs: parseRetryAfter(headers['retry-after']) };
  if (status === 401 || status === 403)
    return new GatewayError(ErrorCode.UPSTREAM_AUTH, `${providerId} rejected the gateway's credentials`, base);
  if (status === 404) return new GatewayError(ErrorCode.MODEL_NOT_FOUND, message, base);
  if (status === 413) return new GatewayError(ErrorCode.PAYLOAD_TOO_LARGE, message, base);
  if (status === 429) return new GatewayError(ErrorCode.RATE_LIMITED, message, base);
  if (status === 402) return new GatewayError(ErrorCode.INSUFFICIENT_QUOTA, message, { ...base, retryable: true });
  if (status >= 500) return new GatewayError(ErrorCode.UPSTREAM_5XX, message, base);
  return new GatewayError(ErrorCode.BAD_REQUEST, message, base);
}

/** OpenSSL's and Node's codes for a server certificate that did not verify (untrusted, expired, wrong host). */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A thrown transport error (refused, reset, aborted) as a GatewayError. When our own signal aborted the call, its
 * reason (a TIMEOUT GatewayError set by the router, or the client's disconnect) wins over undici's generic abort.
 */
export function transportError(providerId: string, error: unknown, signal: AbortSignal): GatewayError {
  if (error instanceof GatewayError) return error;
  if (signal.aborted) {
    return signal.reason instanceof GatewayError
      ? signal.reason
      : new GatewayError(ErrorCode.TIMEOUT, `${providerId}: the request was aborted`, { cause: error });
  }
  const code = (error as { code?: string }).code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new GatewayError(ErrorCode.TIMEOUT, `${providerId}: timed out (${code})`, { cause: error });
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return new GatewayError(
      ErrorCode.UPSTREAM_UNREACHABLE,
      `${providerId}: the upstream's TLS certificate was refused (${code}); is its CA in the provider's ca_file?`,
      { cause: error },
    );
  }
  return new GatewayError(
    ErrorCode.UPSTREAM_UNREACHABLE,
    `${providerId}: connection failed (${code || (error as Error).message})`,
    {
      cause: error,
    },
  );
}
