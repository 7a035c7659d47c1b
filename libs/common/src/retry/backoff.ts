export interface BackoffOptions {
  /** Share of the wait that is random, from 0 (none) to 1 (full jitter, the default). */
  jitter?: number;
  /** In [0, 1); tests inject a fixed value. */
  random?: () => number;
}

/**
 * Capped exponential backoff with jitter (AWS architecture blog): a uniformly random wait in
 * [(1 − jitter) · ceiling, ceiling), where ceiling = min(max, base · 2^(attempt−1)). `attempt` counts from 1.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, options: BackoffOptions = {}): number {
  const { jitter = 1, random = Math.random } = options;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.floor(ceiling * (1 - jitter + jitter * random()));
}
