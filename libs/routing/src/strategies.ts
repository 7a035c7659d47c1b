import type { Strategy } from '@xrouter/config';
import type { DeploymentGroup } from './model-catalog';

export interface SelectionInputs {
  /** Increments per request for this model (round-robin). */
  turn: number;
  /** Uniform in [0, 1) (weighted draws, least-latency exploration). */
  random: () => number;
  /** EWMA latency of a deployment, undefined before its first answer. */
  latency: (group: DeploymentGroup) => number | undefined;
  /** Whether any of the deployment's targets may take a request now (its breakers are not all open). */
  available: (group: DeploymentGroup) => boolean;
}

/** Share of least-latency picks that go to a random deployment, so a recovered one is noticed. */
export const LEAST_LATENCY_EXPLORATION = 0.05;

/** Weighted random order without replacement: the first pick by weight, then the rest the same way. */
function weightedOrder(groups: DeploymentGroup[], random: () => number): DeploymentGroup[] {
  const pool = [...groups];
  const order: DeploymentGroup[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, g) => sum + Math.max(0, g.weight), 0);
    let index = 0;
    if (total > 0) {
      let point = random() * total;
      index = pool.findIndex((g) => (point -= Math.max(0, g.weight)) < 0);
      if (index < 0) index = pool.length - 1;
    }
    order.push(pool.splice(index, 1)[0]);
  }
  return order;
}

function rotate<T>(items: T[], by: number): T[] {
  if (items.length === 0) return items;
  const start = ((by % items.length) + items.length) % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/**
 * The order in which a request tries a model's deployments — a pure function of the strategy, the deployments and
 * what the router knows (turn, randomness, latencies, breakers). Deployments whose breakers are all open are left
 * out; the rest follow the strategy's preference, and every later one is a fallback for the ones before it.
 */
export function orderGroups(
  strategy: Strategy,
  groups: readonly DeploymentGroup[],
  inputs: SelectionInputs,
): DeploymentGroup[] {
  const usable = groups.filter((g) => inputs.available(g));
  switch (strategy) {
    case 'fallback':
      return usable;
    case 'round-robin':
      return rotate(usable, inputs.turn);
    case 'weighted':
      return weightedOrder(usable, inputs.random);
    case 'least-latency': {
      if (inputs.random() < LEAST_LATENCY_EXPLORATION)
        return rotate(usable, Math.floor(inputs.random() * usable.length));
      // Unmeasured deployments first (to measure them), then fastest first; ties keep the configured order.
      const rank = (g: DeploymentGroup) => inputs.latency(g) ?? -1;
      return [...usable].sort((a, b) => rank(a) - rank(b));
    }
  }
}
