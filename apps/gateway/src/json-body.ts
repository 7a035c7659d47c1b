import { json, type ErrorRequestHandler, type RequestHandler } from 'express';
import { toGatewayError } from '@xrouter/common';

/**
 * JSON body parsing with a size limit. Parser failures (malformed JSON → 400 invalid_json, too large → 413) become
 * GatewayErrors here, before Nest would flatten them into a generic 400, so the filter answers them precisely.
 */
export function jsonBody(limit: string): [RequestHandler, ErrorRequestHandler] {
  return [json({ limit }), (error: unknown, _req, _res, next) => next(toGatewayError(error))];
}
