import { ErrorCode, type GatewayError } from '@xrouter/common';

/**
 * Whose failure an attempt's error is, which decides everything the router does next:
 * - `deployment`: the provider side failed (5xx, timeout of the attempt's own bound, reset, malformed answer, 429):
 *   it counts against the deployment's breaker (once per request) and the request moves on, to this deployment
 *   later or to another.
 * - `credentials`: the upstream refused the gateway's own credentials (401/403): that account is marked, never
 *   retried for this request, and the next account or deployment is tried; no breaker is charged.
 * - `absent`: the upstream does not have the model (404): asking it again cannot help, so this request does not, but
 *   the next deployment (another provider, another account) may have it; no breaker — a missing model is a
 *   configuration mistake, not an outage.
 * - `client`: the request itself is at fault (400, 413, 422, content filter): answered as it is, no retry, no
 *   breaker — another deployment would refuse it too, and a client's bad input must not look like an outage.
 * - `deadline`: the request's overall deadline ran out during the attempt: nothing is charged to the deployment
 *   that happened to be running, and nothing more is tried.
 * - `quota`: the account's own quota (402): the next account or deployment, no breaker.
 */
export type FailureClass = 'deployment' | 'credentials' | 'absent' | 'client' | 'deadline' | 'quota';

/** `expiredBy`: which of the attempt's bounds fired, when it timed out (`total` is the request's own deadline). */
export function classifyFailure(error: GatewayError, expiredBy: string | null): FailureClass {
  switch (error.code) {
    case ErrorCode.TIMEOUT:
      return expiredBy === 'total' ? 'deadline' : 'deployment';
    case ErrorCode.UPSTREAM_5XX:
    case ErrorCode.UPSTREAM_UNREACHABLE:
    case ErrorCode.UPSTREAM_BAD_RESPONSE:
    case ErrorCode.STREAM_TRUNCATED:
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.SERVICE_UNAVAILABLE:
      return 'deployment';
    case ErrorCode.UPSTREAM_AUTH:
      return 'credentials';
    case ErrorCode.INSUFFICIENT_QUOTA:
      return 'quota';
    case ErrorCode.MODEL_NOT_FOUND:
      return 'absent';
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.INVALID_JSON:
    case ErrorCode.CONTENT_FILTER:
    case ErrorCode.PAYLOAD_TOO_LARGE:
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
    case ErrorCode.UPGRADE_REQUIRED:
    case ErrorCode.NOT_FOUND:
    case ErrorCode.INVALID_API_KEY:
    case ErrorCode.FORBIDDEN:
    case ErrorCode.NO_DEPLOYMENT_AVAILABLE:
    case ErrorCode.INTERNAL:
    case ErrorCode.CLIENT_CLOSED:
      return 'client';
  }
}

/** Whether the router may try again (this deployment later, or another) after a failure of this class. */
export function triesOn(failure: FailureClass): boolean {
  return failure === 'deployment' || failure === 'credentials' || failure === 'absent' || failure === 'quota';
}
