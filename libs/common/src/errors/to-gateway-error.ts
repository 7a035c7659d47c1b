import { HttpException, HttpStatus } from '@nestjs/common';
import { StoreUnavailableError } from '@xrouter/store';
import { ErrorCode } from './error-code';
import { GatewayError } from './gateway.error';

/** Errors that body-parser (and other connect middleware) raise carry a status and a `type`. */
interface MiddlewareError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
}

function isMiddlewareError(value: unknown): value is MiddlewareError {
  return typeof value === 'object' && value !== null && ('status' in value || 'statusCode' in value);
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  [HttpStatus.BAD_REQUEST]: ErrorCode.BAD_REQUEST,
  [HttpStatus.UNAUTHORIZED]: ErrorCode.INVALID_API_KEY,
  [HttpStatus.FORBIDDEN]: ErrorCode.FORBIDDEN,
  [HttpStatus.NOT_FOUND]: ErrorCode.NOT_FOUND,
  [HttpStatus.METHOD_NOT_ALLOWED]: ErrorCode.NOT_FOUND,
  [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCode.PAYLOAD_TOO_LARGE,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  [HttpStatus.TOO_MANY_REQUESTS]: ErrorCode.RATE_LIMITED,
  [HttpStatus.SERVICE_UNAVAILABLE]: ErrorCode.SERVICE_UNAVAILABLE,
};

function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

/**
 * Turns anything thrown while handling a request into a GatewayError, so the filter has one shape to render.
 * Unknown errors become INTERNAL with a generic message: their text may hold details clients must not see.
 */
export function toGatewayError(exception: unknown): GatewayError {
  if (exception instanceof GatewayError) return exception;
  if (exception instanceof StoreUnavailableError) {
    return new GatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The shared store is unreachable; retry shortly.', {
      retryAfterMs: 1_000,
      cause: exception,
    });
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_REQUEST);
    return new GatewayError(code, httpExceptionMessage(exception), { cause: exception });
  }
  if (isMiddlewareError(exception)) {
    if (exception.type === 'entity.parse.failed') {
      return new GatewayError(ErrorCode.INVALID_JSON, 'The request body is not valid JSON.', { cause: exception });
    }
    if (exception.type === 'entity.too.large') {
      return new GatewayError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is larger than this gateway accepts.', {
        cause: exception,
      });
    }
    const status = exception.status ?? exception.statusCode ?? 500;
    if (status < 500 && CODE_BY_STATUS[status]) {
      return new GatewayError(CODE_BY_STATUS[status], exception.message ?? 'Bad request.', { cause: exception });
    }
  }
  return new GatewayError(ErrorCode.INTERNAL, 'The gateway failed to handle this request.', { cause: exception });
}
