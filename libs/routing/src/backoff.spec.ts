import { RetryConfig } from '@xrouter/config';
import { backoffDelay, retryDelay } from './backoff';

const config: RetryConfig = { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1000, max_retry_after_ms: 5000 };

describe('backoffDelay', () => {
  it.each([
    [1, 1, 100],
    [2, 1, 200],
    [3, 1, 400],
    [5, 1, 1000],
    [9, 1, 1000],
    [3, 0.5, 200],
    [3, 0, 0],
  ])('retry %i with random %f waits %i ms (full jitter under the capped exponential)', (retry, r, expected) => {
    // random() < 1, so use a value just below the ceiling for "1"
    expect(backoffDelay(retry, 100, 1000, () => (r === 1 ? 0.99999999 : r))).toBe(r === 1 ? expected - 1 : expected);
  });
});

describe('retryDelay', () => {
  it('should never retry sooner than Retry-After', () => {
    expect(retryDelay(1, config, 2000, () => 0.5)).toBe(2000);
  });
  it('should keep the backoff when it is longer than Retry-After', () => {
    expect(retryDelay(5, config, 10, () => 0.99999)).toBeGreaterThan(900);
  });
  it('should refuse to wait for a Retry-After over the cap', () => {
    expect(retryDelay(1, config, 6000)).toBeNull();
  });
});
