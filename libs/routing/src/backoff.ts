import type { RetryConfig } from '@xrouter/config';

/**
 * Exponential backoff with full jitter (AWS architecture blog): a uniformly random wait in
 * [0, min(max, base · 2^(retry−1))]. `retry` counts retries of the same request from 1.
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before trying a deployment again: the jittered backoff, but never sooner than its Retry-After.
 * null when the upstream asks for a longer pause than `max_retry_after_ms`: do not wait for it at all.
 */
export function retryDelay(
  retry: number,
  config: RetryConfig,
  retryAfterMs?: number,
  random?: () => number,
): number | null {
  const backoff = backoffDelay(retry, config.base_delay_ms, config.max_delay_ms, random);
  if (retryAfterMs === undefined) return backoff;
  if (retryAfterMs > config.max_retry_after_ms) return null;
  return Math.max(backoff, retryAfterMs);
}
