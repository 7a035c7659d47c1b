import { costRub, formatNanos } from './pricing';

describe('costRub', () => {
  it.each([
    // prompt, completion, prompt_per_1k, completion_per_1k, expected
    [0, 0, 1.5, 1.5, '0.000000000'],
    [1000, 0, 1.5, 3, '1.500000000'],
    [0, 1000, 1.5, 3, '3.000000000'],
    [1, 0, 0.000001, 0, '0.000000001'],
    [1, 1, 0.000001, 0.000001, '0.000000002'],
    [1234, 567, 1.5, 1.5, '2.701500000'],
    [1000, 1000, 0.1, 0.2, '0.300000000'], // 0.1 + 0.2 is 0.30000000000000004 in floats
    [3, 0, 0.1, 0, '0.000300000'], // 3 × 0.1 / 1000 is 0.00030000000000000003 in floats
    [123_456_789, 987_654_321, 0.2, 0.6, '617283.950400000'],
    [7, 13, 123.456789, 0.000007, '0.864197614'],
    [1_000_000_000, 1_000_000_000, 999.999999, 999.999999, '1999999998.000000000'],
  ])('should price %i + %i tokens at %d / %d per 1k as %s', (prompt, completion, p, c, expected) => {
    expect(costRub(prompt, completion, { prompt_per_1k: p, completion_per_1k: c })).toBe(expected);
  });

  it('should price cached prompt tokens at the cached price when there is one, else at the prompt price', () => {
    const pricing = { prompt_per_1k: 1.5, completion_per_1k: 3, cached_prompt_per_1k: 0.15 };
    // 1,000 prompt tokens of which 400 cached: 600 × 1.5 + 400 × 0.15 = 960, + 100 × 3 = 300 (per 1,000).
    expect(costRub(1000, 100, pricing, 400)).toBe('1.260000000');
    expect(costRub(1000, 100, { prompt_per_1k: 1.5, completion_per_1k: 3 }, 400)).toBe('1.800000000');
    // An upstream claiming more cached than prompt tokens is held to the prompt tokens.
    expect(costRub(10, 0, pricing, 50)).toBe('0.001500000');
  });

  it('should be 0 without pricing', () => {
    expect(costRub(1000, 1000)).toBe('0.000000000');
    expect(costRub(1000, 1000, null)).toBe('0.000000000');
  });

  it('should differ from float arithmetic where floats are off in the last place', () => {
    const float = (1000 * 0.1) / 1000 + (1000 * 0.2) / 1000; // per-side cost, then the sum
    expect(float).not.toBe(0.3);
    expect(costRub(1000, 1000, { prompt_per_1k: 0.1, completion_per_1k: 0.2 })).toBe('0.300000000');
  });

  /** Rounds a cost half-up to whole kopecks, exactly. */
  function toKopecks(cost: string): string {
    const [rub, frac] = cost.split('.');
    const kopecks = BigInt(rub + frac.slice(0, 2)) + (Number(frac[2]) >= 5 ? 1n : 0n);
    return `${kopecks / 100n}.${(kopecks % 100n).toString().padStart(2, '0')}`;
  }

  it.each([
    [2_345_678, 1_234_567, 1.5, 1.5, '5370.37'], // 3,580,245 × 1.5 / 1000 = 5370.3675
    [10_000, 0, 0.05, 0.05, '0.50'],
    [333, 333, 0.01, 0.01, '0.01'], // 666 × 0.01 / 1000 = 0.00666
    [1005, 0, 1, 1, '1.01'], // 1.005 RUB: Math.round(1.005 * 100) / 100 gives 1 in floats
  ])('should be right to the kopeck for %i + %i tokens at %d / %d', (prompt, completion, p, c, expected) => {
    expect(toKopecks(costRub(prompt, completion, { prompt_per_1k: p, completion_per_1k: c }))).toBe(expected);
  });

  it('should round 1.005 RUB up to 1.01 where float rounding gives 1.00', () => {
    expect(Math.round(((1005 * 1) / 1000) * 100) / 100).toBe(1);
    expect(toKopecks(costRub(1005, 0, { prompt_per_1k: 1, completion_per_1k: 1 }))).toBe('1.01');
  });

  it('should treat missing, negative or fractional token counts safely', () => {
    const pricing = { prompt_per_1k: 1, completion_per_1k: 1 };
    expect(costRub(-5, Number.NaN, pricing)).toBe('0.000000000');
    expect(costRub(1000.9, 0, pricing)).toBe('1.000000000');
  });

  it('should refuse a negative or non-finite price', () => {
    expect(() => costRub(1, 1, { prompt_per_1k: -1, completion_per_1k: 1 })).toThrow(RangeError);
    expect(() => costRub(1, 1, { prompt_per_1k: 1, completion_per_1k: Infinity })).toThrow(RangeError);
  });

  it.each([
    [0n, '0.000000000'],
    [1n, '0.000000001'],
    [1_000_000_000n, '1.000000000'],
    [-1_500_000_000n, '-1.500000000'],
  ])('should format %s nano-roubles as %s', (nanos, text) => {
    expect(formatNanos(nanos)).toBe(text);
  });
});
