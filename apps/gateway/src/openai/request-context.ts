import type { IncomingMessage, ServerResponse } from 'node:http';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal } from '@xrouter/auth';
import { clientClosed } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';

/** Who makes an LLM call: what the call pipeline admits, records and stops when the client goes away. */
export interface CallerContext {
  principal: Principal;
  requestId: string;
  /** Aborts (with {@link clientClosed}) when the client goes away before the answer is done. */
  signal: AbortSignal;
}

/** The caller of this request, with a signal that aborts when the client goes away before the answer is done. */
export function callerContext(principal: Principal, res: ServerResponse): CallerContext {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(clientClosed());
  });
  return { principal, requestId: String(res.getHeader('x-request-id')), signal: controller.signal };
}

/**
 * The caller of an LLM route (its principal, request id and the signal of its connection), for a handler that also
 * takes `@Res()`. Only on authenticated routes: the auth guard has set the principal.
 */
export const Caller = createParamDecorator((_data: unknown, ctx: ExecutionContext): CallerContext => {
  const http = ctx.switchToHttp();
  const principal = http.getRequest<IncomingMessage & { principal?: Principal }>().principal;
  if (!principal) throw new Error('@Caller() used on a route without authentication');
  return callerContext(principal, http.getResponse<ServerResponse>());
});

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
