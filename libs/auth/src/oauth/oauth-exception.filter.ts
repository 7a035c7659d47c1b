import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { StoreUnavailableError } from '@xrouter/store';
import { OAuthError } from './oauth.error';

/** Anything thrown at an OAuth endpoint as an RFC 6749 error; details of unexpected failures stay in the log. */
export function toOAuthError(exception: unknown): OAuthError {
  if (exception instanceof OAuthError) return exception;
  if (
    exception instanceof StoreUnavailableError ||
    (exception instanceof GatewayError && exception.code === ErrorCode.SERVICE_UNAVAILABLE)
  ) {
    return new OAuthError('temporarily_unavailable', 'The authorization server is temporarily unavailable.');
  }
  if (exception instanceof GatewayError && exception.status < 500) {
    return new OAuthError('invalid_request', exception.message);
  }
  if (exception instanceof HttpException && exception.getStatus() === 429) {
    // The per-IP throttler (which has already set Retry-After) on the OAuth endpoints.
    return new OAuthError('slow_down', 'Too many requests from this address; try again later.');
  }
  if (exception instanceof HttpException && exception.getStatus() < 500) {
    return new OAuthError('invalid_request', exception.message);
  }
  return new OAuthError('server_error', 'The authorization server failed to handle this request.');
}

/** `{"error": …, "error_description": …}` with the status of RFC 6749 §5.2, never cached. */
export function writeOAuthError(res: Response, error: OAuthError): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('pragma', 'no-cache');
  res.status(error.status).json({ error: error.code, error_description: error.description });
}

/** Bound to the OAuth controller only: the rest of the gateway answers in OpenAI's envelope. */
@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OAuth');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const error = toOAuthError(exception);
    if (error.status >= 500) {
      this.logger.error({ err: exception, reqId: res.getHeader('x-request-id'), code: error.code }, error.message);
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    writeOAuthError(res, error);
  }
}
