import type { IncomingMessage, ServerResponse } from 'node:http';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal } from '@xrouter/auth';
import { clientClosed, ErrorCode, GatewayError } from '@xrouter/common';
import type { RouteOutcome } from '@xrouter/routing';

/** Who makes an LLM call: what the call pipeline admits, records and stops when the client goes away. */
export interface CallerContext {
  principal: Principal;
  requestId: string;
  /** Aborts (with {@link clientClosed}) when the client goes away before the answer is done. */
  signal: AbortSignal;
  /** What the request's `x-xrouter-cache` header asks of the answer cache: `use`, `skip`, or nothing (the key's setting). */
  cache: CacheDirective;
  /** The request's `x-session-id` header: a provider that caches context by session (GigaChat) is sent it. */
  sessionId?: string;
}

export type CacheDirective = 'use' | 'skip' | null;

/** The `x-xrouter-cache` request header; any value but `use` or `skip` is a 400 naming it. */
export function cacheDirective(header: string | string[] | undefined): CacheDirective {
  if (header === undefined) return null;
  if (header === 'use' || header === 'skip') return header;
  throw new GatewayError(ErrorCode.BAD_REQUEST, "The x-xrouter-cache header must be 'use' or 'skip'", {
    param: 'x-xrouter-cache',
  });
}

/** Longest `x-session-id` accepted. */
export const MAX_SESSION_ID_LENGTH = 256;

/** The `x-session-id` request header (context caching at providers that have it); too long or repeated is a 400. */
export function sessionIdHeader(header: string | string[] | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (typeof header !== 'string' || header.length > MAX_SESSION_ID_LENGTH) {
    throw new GatewayError(
      ErrorCode.BAD_REQUEST,
      `The x-session-id header must be one value of at most ${MAX_SESSION_ID_LENGTH} characters`,
      { param: 'x-session-id' },
    );
  }
  return header;
}

/** The caller of this request, with a signal that aborts when the client goes away before the answer is done. */
export function callerContext(
  principal: Principal,
  res: ServerResponse,
  cache: CacheDirective = null,
  sessionId?: string,
): CallerContext {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(clientClosed());
  });
  const caller: CallerContext = {
    principal,
    requestId: String(res.getHeader('x-request-id')),
    signal: controller.signal,
    cache,
  };
  if (sessionId !== undefined) caller.sessionId = sessionId;
  return caller;
}

/**
 * The caller of an LLM route (its principal, request id and the signal of its connection), for a handler that also
 * takes `@Res()`. Only on authenticated routes: the auth guard has set the principal.
 */
export const Caller = createParamDecorator((_data: unknown, ctx: ExecutionContext): CallerContext => {
  const http = ctx.switchToHttp();
  const req = http.getRequest<IncomingMessage & { principal?: Principal }>();
  if (!req.principal) throw new Error('@Caller() used on a route without authentication');
  return callerContext(
    req.principal,
    http.getResponse<ServerResponse>(),
    cacheDirective(req.headers['x-xrouter-cache']),
    sessionIdHeader(req.headers['x-session-id']),
  );
});

/**
 * Tells the client what the router did: which provider and upstream model answered, after how many attempts, which
 * request fields it was sent without, and —
 * for an answer that is complete before it is sent — what it cost (a stream says so in its usage chunk instead).
 */
export function setRouteHeaders(
  res: ServerResponse,
  outcome: RouteOutcome<unknown> & { costRub?: string; cache?: 'hit' | 'miss' },
): void {
  res.setHeader('x-xrouter-provider', outcome.target.provider.id);
  res.setHeader('x-xrouter-model', outcome.target.upstreamModel);
  res.setHeader('x-xrouter-attempts', String(outcome.attempts));
  // What the deployment was sent without (its drop_params): never dropped silently.
  if (outcome.dropped?.length) res.setHeader('x-xrouter-dropped-params', outcome.dropped.join(','));
  if (outcome.costRub !== undefined) res.setHeader('x-xrouter-cost-rub', outcome.costRub);
  if (outcome.cache) res.setHeader('x-xrouter-cache', outcome.cache);
}
