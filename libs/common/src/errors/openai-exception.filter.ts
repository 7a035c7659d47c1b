import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toOpenAiErrorBody } from './openai-error-body';
import { toGatewayError } from './to-gateway-error';
import { GatewayError } from './gateway.error';

/** Applies a GatewayError's status and headers (Retry-After in whole seconds, rounded up) to a response. */
export function writeErrorHeaders(res: Response, error: GatewayError): void {
  if (error.retryAfterMs !== undefined)
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
}

/**
 * The single exception filter: every error, whoever raised it (validation, auth, unknown route, body parser,
 * upstream), is answered in OpenAI's envelope with the status its code maps to.
 */
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const error = toGatewayError(exception);
    if (error.status >= 500) {
      this.logger.error(
        { err: exception, code: error.code, reqId: res.getHeader('x-request-id'), path: req.path },
        error.message,
      );
    }
    if (res.headersSent) {
      // A stream already started: the only honest ending is an error event, never a silent stop.
      if (!res.writableEnded) res.end(`data: ${JSON.stringify(toOpenAiErrorBody(error))}\n\n`);
      return;
    }
    writeErrorHeaders(res, error);
    res.status(error.status).json(toOpenAiErrorBody(error));
  }
}
