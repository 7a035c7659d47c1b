import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toOpenAiErrorBody } from './openai-error-body';
import { toGatewayError } from './to-gateway-error';
import { GatewayError } from './gateway.error';
import { DRAIN_UNREAD_BODY_BYTES, releaseUnreadBody } from '../http/unread-body';

/** Applies a GatewayError's status and headers (Retry-After in whole seconds, rounded up) to a response. */
function writeErrorHeaders(res: ServerResponse, error: GatewayError): void {
  if (error.retryAfterMs !== undefined)
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
}

const errorLogger = new Logger('Errors');

/**
 * Answers anything thrown while handling a request in OpenAI's envelope, with the status its code maps to; server
 * failures are logged with the request id. On a response whose stream already started, the only honest ending is
 * an error event, never a silent stop. The one way errors reach clients: the Nest filter and the fast dispatcher
 * both end here. A body left unread is released first (`releaseUnreadBody`): a small rest is drained, a large one
 * closes the connection.
 */
export function sendOpenAiError(req: IncomingMessage, res: ServerResponse, exception: unknown): void {
  const error = toGatewayError(exception);
  if (error.status >= 500) {
    const path = (req.url ?? '').split('?')[0];
    errorLogger.error({ err: exception, code: error.code, reqId: res.getHeader('x-request-id'), path }, error.message);
  }
  if (res.headersSent) {
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(toOpenAiErrorBody(error))}\n\n`);
    return;
  }
  releaseUnreadBody(req, res, DRAIN_UNREAD_BODY_BYTES);
  writeErrorHeaders(res, error);
  writeJson(res, error.status, toOpenAiErrorBody(error));
}

/** A JSON answer written straight to the socket (one serialization, no framework response helpers). */
export function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * The single exception filter: every error, whoever raised it (validation, auth, unknown route, body parser,
 * upstream), is answered in OpenAI's envelope by {@link sendOpenAiError}.
 */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendOpenAiError(http.getRequest<IncomingMessage>(), http.getResponse<ServerResponse>(), exception);
  }
}
