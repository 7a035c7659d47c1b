/**
 * Every failure the gateway can answer with. The value is what clients see in `error.code`.
 * `describeErrorCode` maps each one to its HTTP status and OpenAI error type with an exhaustive switch,
 * so adding a code without deciding its status fails to compile.
 */
export enum ErrorCode {
  BAD_REQUEST = 'invalid_request',
  INVALID_JSON = 'invalid_json',
  INVALID_API_KEY = 'invalid_api_key',
  FORBIDDEN = 'permission_denied',
  NOT_FOUND = 'not_found',
  MODEL_NOT_FOUND = 'model_not_found',
  PAYLOAD_TOO_LARGE = 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE = 'unsupported_media_type',
  /** A WebSocket route reached by a plain request. */
  UPGRADE_REQUIRED = 'upgrade_required',
  RATE_LIMITED = 'rate_limit_exceeded',
  INSUFFICIENT_QUOTA = 'insufficient_quota',
  CONTENT_FILTER = 'content_filter',
  UPSTREAM_AUTH = 'upstream_auth_error',
  UPSTREAM_5XX = 'upstream_error',
  UPSTREAM_UNREACHABLE = 'upstream_unreachable',
  UPSTREAM_BAD_RESPONSE = 'upstream_bad_response',
  STREAM_TRUNCATED = 'stream_truncated',
  TIMEOUT = 'timeout',
  NO_DEPLOYMENT_AVAILABLE = 'no_deployment_available',
  SERVICE_UNAVAILABLE = 'service_unavailable',
  /** The client went away before its answer was done: never sent (nobody is listening), only recorded. */
  CLIENT_CLOSED = 'client_closed',
  INTERNAL = 'internal_error',
}

export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

export interface ErrorCodeDescription {
  status: number;
  type: OpenAiErrorType;
  /** Whether trying again (the same or another deployment) may succeed. The default for the code. */
  retryable: boolean;
}

export function describeErrorCode(code: ErrorCode): ErrorCodeDescription {
  switch (code) {
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.INVALID_JSON:
      return { status: 400, type: 'invalid_request_error', retryable: false };
    case ErrorCode.CONTENT_FILTER:
      return { status: 400, type: 'invalid_request_error', retryable: false };
    case ErrorCode.INVALID_API_KEY:
      return { status: 401, type: 'authentication_error', retryable: false };
    case ErrorCode.FORBIDDEN:
      return { status: 403, type: 'permission_error', retryable: false };
    case ErrorCode.NOT_FOUND:
    case ErrorCode.MODEL_NOT_FOUND:
      return { status: 404, type: 'not_found_error', retryable: false };
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return { status: 413, type: 'invalid_request_error', retryable: false };
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return { status: 415, type: 'invalid_request_error', retryable: false };
    case ErrorCode.UPGRADE_REQUIRED:
      return { status: 426, type: 'invalid_request_error', retryable: false };
    case ErrorCode.RATE_LIMITED:
      return { status: 429, type: 'rate_limit_error', retryable: true };
    case ErrorCode.INSUFFICIENT_QUOTA:
      return { status: 429, type: 'insufficient_quota', retryable: false };
    case ErrorCode.UPSTREAM_AUTH:
      return { status: 502, type: 'upstream_error', retryable: true };
    case ErrorCode.UPSTREAM_5XX:
    case ErrorCode.UPSTREAM_UNREACHABLE:
    case ErrorCode.UPSTREAM_BAD_RESPONSE:
    case ErrorCode.STREAM_TRUNCATED:
      return { status: 502, type: 'upstream_error', retryable: true };
    case ErrorCode.NO_DEPLOYMENT_AVAILABLE:
    case ErrorCode.SERVICE_UNAVAILABLE:
      return { status: 503, type: 'server_error', retryable: true };
    case ErrorCode.CLIENT_CLOSED:
      // nginx's code for "the client closed the request": what the usage row of an abandoned call records.
      return { status: 499, type: 'invalid_request_error', retryable: false };
    case ErrorCode.TIMEOUT:
      return { status: 504, type: 'timeout_error', retryable: true };
    case ErrorCode.INTERNAL:
      return { status: 500, type: 'server_error', retryable: false };
  }
}
