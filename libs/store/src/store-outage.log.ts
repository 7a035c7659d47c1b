import type { Logger } from '@nestjs/common';
import type { StoreUnavailableError } from './store-unavailable.error';

/** The one metric an outage log counts into (`XRouterMetrics.storeErrors`). */
export interface StoreErrorCounter {
  storeErrors: { inc(labels: { operation: string }): void };
}

/**
 * Counts every failed store call in `xrouter_store_errors_total{operation}` and logs one line when an outage starts
 * and one when the store answers again, never one per request.
 */
export class StoreOutageLog {
  private down = false;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: StoreErrorCounter | null | undefined,
    private readonly operation: string,
    /** What happens meanwhile, for the log line (`requests pass without limits`). */
    private readonly consequence: string,
  ) {}

  failed(error: StoreUnavailableError): void {
    this.metrics?.storeErrors.inc({ operation: this.operation });
    if (this.down) return;
    this.down = true;
    this.logger.warn(
      `The store is unavailable for ${this.operation}: ${this.consequence} until it answers (${error.message})`,
    );
  }

  answered(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(`The store answers again: ${this.operation} is back to normal`);
  }
}
