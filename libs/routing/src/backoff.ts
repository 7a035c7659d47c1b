import { backoffDelay } from '@xrouter/common';
import type { RetryConfig } from '@xrouter/config';

/**
 * How long to wait before trying a deployment again: the fully jittered backoff (`retry` counts retries of the same
 * request from 1), but never sooner than its Retry-After.
 * null when the upstream asks for a longer pause than `max_retry_after_ms`: do not wait for it at all.
 */
export function retryDelay(
  retry: number,
  config: RetryConfig,
  retryAfterMs?: number,
  random?: () => number,
): number | null {
  const backoff = backoffDelay(retry, config.base_delay_ms, config.max_delay_ms, { random });
  if (retryAfterMs === undefined) return backoff;
  if (retryAfterMs > config.max_retry_after_ms) return null;
  return Math.max(backoff, retryAfterMs);
}
