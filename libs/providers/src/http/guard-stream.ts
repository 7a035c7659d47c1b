import { ErrorCode, GatewayError } from '@xrouter/common';
import type { CallContext } from '../llm-provider.interface';
import { transportError } from './upstream-error';
import type { UpstreamResponse } from './upstream-http.client';

/**
 * An adapter's chunks read off an upstream stream body, with every failure in the gateway's shape: a GatewayError
 * the adapter threw (a bad event, a truncated end) as it is, our own abort as its reason (the router's TIMEOUT or the
 * client's disconnect), anything else (a reset, a broken body) as STREAM_TRUNCATED. However the iteration ends —
 * finished, failed, or the consumer stopped early — the body is released.
 */
export async function* guardStream<T>(
  body: UpstreamResponse['body'],
  ctx: Pick<CallContext, 'target' | 'signal'>,
  chunks: AsyncIterable<T>,
): AsyncGenerator<T> {
  const providerId = ctx.target.provider.id;
  try {
    yield* chunks;
  } catch (error) {
    if (error instanceof GatewayError || ctx.signal.aborted) throw transportError(providerId, error, ctx.signal);
    throw new GatewayError(ErrorCode.STREAM_TRUNCATED, `${providerId}: the stream broke off`, { cause: error });
  } finally {
    if (!body.destroyed) body.destroy();
  }
}
