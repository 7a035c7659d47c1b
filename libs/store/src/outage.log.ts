import type { Logger } from '@nestjs/common';

/**
 * One line when a dependency's outage starts and one when it answers again, never one per request: what every
 * caller that degrades instead of failing logs through (`StoreOutageLog` is this with the store's metric; it lives here, in the lowest lib that logs outages).
 */
export class OutageLog {
  private down = false;

  constructor(
    private readonly logger: Logger,
    /** `The store is unavailable for <operation>` / `The database …`. */
    private readonly dependency: string,
    private readonly operation: string,
    /** What happens meanwhile, for the log line (`requests pass without limits`). */
    private readonly consequence: string,
  ) {}

  failed(error: Error): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn(
      `${this.dependency} is unavailable for ${this.operation}: ${this.consequence} until it answers (${error.message})`,
    );
  }

  answered(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(`${this.dependency} answers again: ${this.operation} is back to normal`);
  }
}
