import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  it.each([
    [1, 0.99999999, 99],
    [2, 0.99999999, 199],
    [3, 0.99999999, 399],
    [5, 0.99999999, 999],
    [9, 0.99999999, 999],
    [3, 0.5, 200],
    [3, 0, 0],
  ])('should wait, at retry %i with random %f, %i ms (full jitter under the capped exponential)', (retry, r, ms) => {
    expect(backoffDelay(retry, 100, 1000, { random: () => r })).toBe(ms);
  });

  it.each([
    [1, 0, 150],
    [2, 0, 300],
    [3, 0, 600],
    [8, 0, 19_200],
    [9, 0, 22_500],
    [1_000, 0, 22_500],
    [1, 0.99999999, 199],
    [1_000, 0.99999999, 29_999],
  ])('should wait, at retry %i with random %f and 25 %% jitter, %i ms', (retry, r, ms) => {
    expect(backoffDelay(retry, 200, 30_000, { jitter: 0.25, random: () => r })).toBe(ms);
  });

  it('should not wait at all for a zero base', () => {
    expect(backoffDelay(4, 0, 1000)).toBe(0);
  });
});
