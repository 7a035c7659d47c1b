import type { ServerResponse } from 'node:http';
import type { Principal } from '@xrouter/auth';
import { clientClosed } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';
import type { CallerContext } from './openai-gateway.service';

/** The caller of this request, with a signal that aborts when the client goes away before the answer is done. */
export function callerContext(principal: Principal, res: ServerResponse): CallerContext {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(clientClosed());
  });
  return { principal, requestId: String(res.getHeader('x-request-id')), signal: controller.signal };
}

/**
 * Tells the client what the router did: which provider and upstream model answered, after how many attempts, and —
 * for an answer that is complete before it is sent — what it cost (a stream says so in its usage chunk instead).
 */
export function setRouteHeaders(res: ServerResponse, outcome: RouteOutcome<unknown> & { costRub?: string }): void {
  res.setHeader('x-xrouter-provider', outcome.target.provider.id);
  res.setHeader('x-xrouter-model', outcome.target.upstreamModel);
  res.setHeader('x-xrouter-attempts', String(outcome.attempts));
  if (outcome.costRub !== undefined) res.setHeader('x-xrouter-cost-rub', outcome.costRub);
}
