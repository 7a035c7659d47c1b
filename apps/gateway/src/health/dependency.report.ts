import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import {
  DatabaseHealthIndicator,
  EventLoopHealthIndicator,
  ShutdownHealthIndicator,
  StoreHealthIndicator,
} from '@xrouter/health';
import { XRouterMetrics } from '@xrouter/metrics';
import { DeploymentStatusService } from '@xrouter/routing';

/** How often the shared dependencies are checked for the `xrouter_dependency_up` gauge, probes or not. */
const WATCH_INTERVAL_MS = 15_000;

export interface HealthDetails {
  /** `ok`: all well; `degraded`: this process serves, a shared dependency does not answer; `error`: it cannot. */
  status: 'ok' | 'degraded' | 'error';
  details: Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;
}

/**
 * What /health shows: this process (lifecycle, event loop) decides the status code; the database, the store and the
 * providers are details. Also keeps `xrouter_dependency_up` current for alerts, on a timer off the request path.
 */
@Injectable()
export class DependencyReport implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly lifecycle: ShutdownHealthIndicator,
    private readonly eventLoop: EventLoopHealthIndicator,
    private readonly database: DatabaseHealthIndicator,
    private readonly store: StoreHealthIndicator,
    private readonly deployments: DeploymentStatusService,
    private readonly metrics: XRouterMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.shared(), WATCH_INTERVAL_MS);
    this.timer.unref();
    void this.shared();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async report(): Promise<HealthDetails> {
    const own = [this.lifecycle.check(), this.eventLoop.check()];
    const unroutable = this.deployments.unroutableModels();
    const shared = [...(await this.shared()), { providers: { status: unroutable.length ? 'down' : 'up', unroutable } }];
    const details = Object.assign({}, ...own, ...shared) as HealthDetails['details'];
    const isDown = (result: HealthIndicatorResult) => Object.values(result).some((r) => r.status === 'down');
    const status = own.some(isDown)
      ? 'error'
      : shared.some((r) => isDown(r as HealthIndicatorResult))
        ? 'degraded'
        : 'ok';
    return { status, details };
  }

  private async shared(): Promise<HealthIndicatorResult[]> {
    const results = await Promise.all([this.database.check(), this.store.check()]);
    for (const result of results) {
      for (const [dependency, state] of Object.entries(result)) {
        this.metrics.dependencyUp.set({ dependency }, state.status === 'up' ? 1 : 0);
      }
    }
    return results;
  }
}
