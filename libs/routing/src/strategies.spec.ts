import type { DeploymentGroup, CatalogTarget } from './model-catalog';
import { orderGroups, SelectionInputs } from './strategies';

const group = (key: string, weight = 1): DeploymentGroup => ({ key, weight, targets: [{ key } as CatalogTarget] });
const [a, b, c] = [group('a', 3), group('b', 1), group('c', 0)];
const keys = (groups: DeploymentGroup[]) => groups.map((g) => g.key);

function inputs(overrides: Partial<SelectionInputs> = {}): SelectionInputs {
  return { turn: 0, random: () => 0.5, latency: () => undefined, available: () => true, ...overrides };
}

describe('orderGroups', () => {
  it('fallback keeps the configured order and leaves out open breakers', () => {
    expect(keys(orderGroups('fallback', [a, b, c], inputs()))).toEqual(['a', 'b', 'c']);
    expect(keys(orderGroups('fallback', [a, b, c], inputs({ available: (g) => g !== a })))).toEqual(['b', 'c']);
  });

  it.each([
    [0, ['a', 'b', 'c']],
    [1, ['b', 'c', 'a']],
    [2, ['c', 'a', 'b']],
    [5, ['c', 'a', 'b']],
  ])('round-robin turn %i starts at the next deployment', (turn, expected) => {
    expect(keys(orderGroups('round-robin', [a, b, c], inputs({ turn })))).toEqual(expected);
  });

  it.each([
    [0.0, ['a', 'b', 'c']],
    [0.74, ['a', 'b', 'c']],
    [0.76, ['b', 'a', 'c']],
  ])('weighted with random %f picks by weight (3:1:0)', (r, expected) => {
    expect(keys(orderGroups('weighted', [a, b, c], inputs({ random: () => r })))).toEqual(expected);
  });

  it('weighted spreads first picks by weight', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const firsts = Array.from({ length: 4000 }, () => orderGroups('weighted', [a, b, c], inputs({ random }))[0].key);
    expect(firsts.filter((k) => k === 'a').length / 4000).toBeCloseTo(0.75, 1);
    expect(firsts.filter((k) => k === 'c')).toHaveLength(0);
  });

  it('least-latency prefers unmeasured, then the fastest', () => {
    const latency = (g: DeploymentGroup) => ({ a: 300, b: 100 })[g.key as 'a' | 'b'];
    expect(keys(orderGroups('least-latency', [a, b, c], inputs({ latency })))).toEqual(['c', 'b', 'a']);
  });

  it('least-latency explores a random deployment a small share of the time', () => {
    const randoms = [0.01, 0.9];
    const order = orderGroups(
      'least-latency',
      [a, b],
      inputs({ random: () => randoms.shift() ?? 0, latency: (g) => (g === a ? 1 : 9) }),
    );
    expect(keys(order)).toEqual(['b', 'a']);
  });
});
