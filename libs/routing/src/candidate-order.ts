import type { DeploymentGroup, CatalogTarget } from './model-catalog';

/**
 * The order in which one request tries deployments: groups in configured order (the fallback strategy), and within
 * a group its accounts rotated by `turn`, so consecutive requests start on different accounts (round-robin) and a
 * failing or exhausted account falls through to the group's next account before the next group.
 */
export function orderCandidates(
  groups: readonly DeploymentGroup[],
  turn: (group: DeploymentGroup) => number,
): CatalogTarget[] {
  return groups.flatMap((group) => {
    const n = group.targets.length;
    if (n <= 1) return [...group.targets];
    const start = ((turn(group) % n) + n) % n;
    return [...group.targets.slice(start), ...group.targets.slice(0, start)];
  });
}

/** Per-group counters for account round-robin, in process (an even spread per replica is an even spread overall). */
export class AccountRotation {
  private readonly counters = new Map<string, number>();

  next(group: DeploymentGroup): number {
    const value = this.counters.get(group.key) ?? 0;
    this.counters.set(group.key, value + 1);
    return value;
  }
}
