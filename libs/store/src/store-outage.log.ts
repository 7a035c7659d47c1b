import type { Logger } from '@nestjs/common';
import { OutageLog } from './outage.log';
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
  private readonly log: OutageLog;

  constructor(
    logger: Logger,
    private readonly metrics: StoreErrorCounter | null | undefined,
    private readonly operation: string,
    /** What happens meanwhile, for the log line (`requests pass without limits`). */
    consequence: string,
  ) {
    this.log = new OutageLog(logger, 'The store', operation, consequence);
  }

  failed(error: StoreUnavailableError): void {
    this.metrics?.storeErrors.inc({ operation: this.operation });
    this.log.failed(error);
  }

  answered(): void {
    this.log.answered();
  }
}
