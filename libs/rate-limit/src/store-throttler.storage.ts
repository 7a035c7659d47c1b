import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { XRouterMetrics } from '@xrouter/metrics';
import { StoreOutageLog, StoreUnavailableError, type Store } from '@xrouter/store';

/** What throttler expects back from a hit (its record type is not exported from the package's index). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * `@nestjs/throttler`'s storage on the shared store, so `ThrottlerGuard` counters (e.g. per-IP limits on public
 * routes such as `/oauth/token`) hold across replicas. Each hit is one atomic fixed-window `Store.consume`. A
 * refused client stays blocked until its window ends (throttler's default `blockDuration` is the ttl; a longer
 * one is not honoured). While the store is down it fails open: hits pass, counted and logged once per outage.
 */
export class StoreThrottlerStorage implements ThrottlerStorage {
  private readonly outage: StoreOutageLog;

  constructor(
    private readonly store: Store,
    metrics: XRouterMetrics | null = null,
  ) {
    this.outage = new StoreOutageLog(new Logger('Throttler'), metrics, 'throttler', 'throttled routes pass unlimited');
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const result = await this.store.consume(`throttle:{${key}}:${throttlerName}`, 1, limit, ttl);
      this.outage.answered();
      const seconds = Math.ceil(result.ttlMs / 1000);
      return {
        totalHits: result.allowed ? result.value : result.value + 1,
        timeToExpire: seconds,
        isBlocked: !result.allowed,
        timeToBlockExpire: result.allowed ? 0 : seconds,
      };
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }
}
