import { Injectable } from '@nestjs/common';

/** The weight of the newest sample. */
const ALPHA = 0.3;

/**
 * Exponentially weighted moving average of latencies per key: recent requests count most (`ALPHA` of the new sample),
 * so a deployment that slows down loses traffic within a few requests, and one that recovers wins it back. One per
 * process: the router writes it, /admin/providers reads it.
 */
@Injectable()
export class LatencyTracker {
  private readonly averages = new Map<string, number>();

  record(key: string, ms: number): void {
    const previous = this.averages.get(key);
    this.averages.set(key, previous === undefined ? ms : previous + ALPHA * (ms - previous));
  }

  get(key: string): number | undefined {
    return this.averages.get(key);
  }
}
