import { RetryConfig } from '@xrouter/config';
import { retryDelay } from './backoff';

const config: RetryConfig = { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1000, max_retry_after_ms: 5000 };

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
