import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { STORE, type Store } from '@xrouter/store';
import { EventLoopMonitor } from './event-loop.monitor';
import { healthConfig } from './health.config';
import { ShutdownState } from './shutdown.state';
import { withTimeout } from './with-timeout';

/** Each dependency check gets this long; a hung database must not hang the probe. */
export const CHECK_TIMEOUT_MS = 1_000;

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The database answers `SELECT 1` (PostgreSQL or PGlite). */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly dataSource: DataSource,
  ) {}

  async check(key = 'database'): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), CHECK_TIMEOUT_MS, 'the database');
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: reason(error) });
    }
  }
}

/** The shared store answers a ping (Redis, or the in-process store). */
@Injectable()
export class StoreHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(STORE) private readonly store: Store,
  ) {}

  async check(key = 'store'): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    try {
      await withTimeout(this.store.ping(), CHECK_TIMEOUT_MS, 'the store');
      return indicator.up({ kind: this.store.kind });
    } catch (error) {
      return indicator.down({ kind: this.store.kind, message: reason(error) });
    }
  }
}

/** Down from the moment the process begins to drain. */
@Injectable()
export class ShutdownHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly state: ShutdownState,
  ) {}

  check(key = 'lifecycle'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    return this.state.isDraining ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }
}

/** Down while this process's event loop lags past `READINESS_MAX_EVENT_LOOP_LAG_MS`. */
@Injectable()
export class EventLoopHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly monitor: EventLoopMonitor,
    @Inject(healthConfig.KEY) private readonly settings: ConfigType<typeof healthConfig>,
  ) {}

  check(key = 'event_loop'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const lagMs = Math.round(this.monitor.lagMs());
    const details = { lag_ms: lagMs, max_lag_ms: this.settings.maxEventLoopLagMs };
    return lagMs <= this.settings.maxEventLoopLagMs ? indicator.up(details) : indicator.down(details);
  }
}
