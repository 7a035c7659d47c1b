import { formatOpenAiDuration } from './openai-duration';

describe('formatOpenAiDuration', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [Number.NaN, '0s'],
    [0.2, '1ms'],
    [12, '12ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_001, '1.001s'],
    [8_640, '8.64s'],
    [59_200, '59.2s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [76_001, '1m16.001s'],
    [360_000, '6m0s'],
    [3_600_000, '1h0m0s'],
    [3_723_500, '1h2m3.5s'],
    [86_400_000, '24h0m0s'],
  ])('should write %p ms as %p', (ms, expected) => {
    expect(formatOpenAiDuration(ms)).toBe(expected);
  });
});
