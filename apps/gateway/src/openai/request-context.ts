import type { Request, Response } from 'express';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';
import type { CallerContext } from './openai-gateway.service';

/** The caller of this request, with a signal that aborts when the client goes away before the answer is done. */
export function callerContext(req: Request, res: Response): CallerContext {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished)
      controller.abort(new GatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'The client closed the connection'));
  });
  if (!req.principal) throw new GatewayError(ErrorCode.INVALID_API_KEY, 'Not authenticated');
  return { principal: req.principal, requestId: String(res.getHeader('x-request-id')), signal: controller.signal };
}

/** Tells the client what the router did: which provider and upstream model answered, after how many attempts. */
export function setRouteHeaders(res: Response, outcome: RouteOutcome<unknown>): void {
  res.setHeader('x-xrouter-provider', outcome.target.provider.id);
  res.setHeader('x-xrouter-model', outcome.target.upstreamModel);
  res.setHeader('x-xrouter-attempts', String(outcome.attempts));
}
