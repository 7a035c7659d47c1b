import { MemoryStore } from './memory.store';
import type { ConsumeResult, CounterResult, LimitCheck, LimitsResult } from './store.interface';

/**
 * Limits this replica enforces on its own while the shared store cannot answer: the same checks on an in-process
 * store, each limit cut to this replica's share (`STORE_OUTAGE_LIMIT_SHARE`, default 1: every replica allows the
 * whole limit, so N replicas allow at most N times it during an outage; set 1/N for N replicas to hold the limit).
 * A store outage thus degrades the limits, it never switches them off.
 */
export class LocalLimits {
  private readonly store = new MemoryStore();

  constructor(readonly share = 1) {
    if (!(share > 0 && share <= 1)) throw new RangeError('The local share of a limit must be in (0, 1]');
  }

  /** The part of a shared limit this replica enforces alone: at least 1. */
  shareOf(limit: number): number {
    return Math.max(1, Math.floor(limit * this.share));
  }

  consumeLimits(checks: readonly LimitCheck[]): Promise<LimitsResult> {
    return this.store.consumeLimits(checks);
  }

  consume(key: string, cost: number, limit: number, windowMs: number): Promise<ConsumeResult> {
    return this.store.consume(key, cost, this.shareOf(limit), windowMs);
  }

  increment(key: string, by: number, ttlMs: number): Promise<CounterResult> {
    return this.store.increment(key, by, ttlMs);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
