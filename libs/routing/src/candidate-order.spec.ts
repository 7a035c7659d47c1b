import { AccountRotation, orderCandidates } from './candidate-order';
import type { DeploymentGroup, CatalogTarget } from './model-catalog';

const target = (key: string) => ({ key }) as CatalogTarget;
const group = (key: string, ...targets: string[]): DeploymentGroup => ({
  key,
  weight: 1,
  targets: targets.map(target),
});

describe('orderCandidates', () => {
  const groups = [group('mts/qwen', 'mts/a', 'mts/b', 'mts/c'), group('tbank/t-pro', 'tbank/x')];

  it.each([
    [0, ['mts/a', 'mts/b', 'mts/c', 'tbank/x']],
    [1, ['mts/b', 'mts/c', 'mts/a', 'tbank/x']],
    [2, ['mts/c', 'mts/a', 'mts/b', 'tbank/x']],
    [3, ['mts/a', 'mts/b', 'mts/c', 'tbank/x']],
  ])('turn %i starts the group on its next account and keeps group order', (turn, expected) => {
    expect(orderCandidates(groups, () => turn).map((t) => t.key)).toEqual(expected);
  });

  it('should spread consecutive requests evenly over the accounts', () => {
    const rotation = new AccountRotation();
    const firsts = Array.from({ length: 9 }, () => orderCandidates(groups, (g) => rotation.next(g))[0].key);
    expect(firsts.filter((k) => k === 'mts/a')).toHaveLength(3);
    expect(firsts.filter((k) => k === 'mts/b')).toHaveLength(3);
    expect(firsts.filter((k) => k === 'mts/c')).toHaveLength(3);
  });
});
