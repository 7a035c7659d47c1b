import type { Logger } from '@nestjs/common';
import type { XRouterMetrics } from '@xrouter/metrics';
import type { StoreUnavailableError } from '@xrouter/store';

/**
 * Counts every failed store call in `xrouter_store_errors_total{operation}` and logs one line when an outage starts
 * and one when the store answers again, never one per request.
 */
export class StoreOutageLog {
  private down = false;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: XRouterMetrics | null,
    private readonly operation: string,
    /** What happens meanwhile, for the log line (`requests pass without limits`). */
    private readonly consequence: string,
  ) {}

  get isDown(): boolean {
    return this.down;
  }

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
