/**
 * Exponentially weighted moving average of latencies per key: recent requests count most (`alpha` of the new sample),
 * so a deployment that slows down loses traffic within a few requests, and one that recovers wins it back.
 */
export class LatencyTracker {
  private readonly averages = new Map<string, number>();

  constructor(private readonly alpha = 0.3) {}

  record(key: string, ms: number): void {
    const previous = this.averages.get(key);
    this.averages.set(key, previous === undefined ? ms : previous + this.alpha * (ms - previous));
  }

  get(key: string): number | undefined {
    return this.averages.get(key);
  }
}
