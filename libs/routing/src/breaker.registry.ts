import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ROUTING_CONFIG, type CircuitBreakerConfig, type RoutingConfig } from '@xrouter/config';
import type { DeploymentTarget } from '@xrouter/providers';
import { XRouterMetrics } from '@xrouter/metrics';
import { STORE, StoreOutageLog, StoreUnavailableError, type Store, type Unsubscribe } from '@xrouter/store';
import { CircuitBreaker, type BreakerState } from './circuit-breaker';
import type { ModelCatalog } from './model-catalog';
import { MODEL_CATALOG } from './routing.constants';

const CHANNEL = 'routing:breaker';

interface BreakerMessage {
  key: string;
  event: 'open' | 'close';
  at: number;
}

/**
 * A circuit breaker per deployment target, shared by the replicas: failures also count in the store (a failure
 * path only: successes touch nothing), an opening or closing is announced on the store's channel, and half-open
 * probes are handed out once across replicas. Without the store each replica's breakers still work on their own
 * (said once per outage in the log). Every transition is logged once, by the replica where it happened.
 */
@Injectable()
export class BreakerRegistry implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('CircuitBreaker');
  private readonly outage: StoreOutageLog;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private unsubscribe?: Unsubscribe;
  private applyingRemote = false;

  /** Each configured deployment's breaker settings (its deployment's, its model's or the defaults). */
  private readonly settings: Map<string, CircuitBreakerConfig>;

  constructor(
    @Inject(ROUTING_CONFIG) private readonly config: RoutingConfig,
    @Inject(STORE) private readonly store: Store,
    private readonly metrics: XRouterMetrics,
    @Inject(MODEL_CATALOG) catalog: ModelCatalog,
  ) {
    this.settings = new Map(catalog.deployments().map((target) => [target.key, target.breaker]));
    this.outage = new StoreOutageLog(
      this.logger,
      metrics,
      'circuit_breaker',
      "each replica's breakers count failures and hand out probes alone",
    );
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = await this.store.subscribe(CHANNEL, (raw) => this.applyRemote(raw));
  }

  async onModuleDestroy(): Promise<void> {
    await this.unsubscribe?.();
  }

  get(target: DeploymentTarget): CircuitBreaker {
    return this.byKey(target.key);
  }

  private settingsOf(key: string): CircuitBreakerConfig {
    return this.settings.get(key) ?? this.config.defaults.circuit_breaker;
  }

  /**
   * Milliseconds until the first of these deployments lets a probe through: the `Retry-After` of a 503 because every
   * one of them is open. 0 when one is not open.
   */
  msUntilFirstProbe(targets: readonly DeploymentTarget[]): number {
    return targets.length === 0 ? 0 : Math.min(...targets.map((target) => this.get(target).msUntilProbe()));
  }

  private byKey(key: string): CircuitBreaker {
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker(this.settingsOf(key), Date.now, (from, to) => this.onTransition(key, from, to));
      this.breakers.set(key, breaker);
      this.metrics.setBreakerState(key, 'closed');
    }
    return breaker;
  }

  /** Permission for one attempt: closed yes, open no, half-open one of the probes shared across replicas. */
  async tryAcquire(target: DeploymentTarget): Promise<boolean> {
    const breaker = this.get(target);
    if (!breaker.tryAcquire()) return false;
    const snapshot = breaker.snapshot();
    if (snapshot.state !== 'half-open') return true;
    const { half_open_probes, cooldown_ms } = breaker.config;
    try {
      const probe = await this.store.consume(
        `breaker-probes:{${target.key}}:${snapshot.openedAt ?? 0}`,
        1,
        half_open_probes,
        cooldown_ms * 2,
      );
      this.outage.answered();
      if (probe.allowed) return true;
      breaker.onAbandoned();
      return false;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      return true;
    }
  }

  onSuccess(target: DeploymentTarget): void {
    this.get(target).onSuccess();
  }

  onAbandoned(target: DeploymentTarget): void {
    this.get(target).onAbandoned();
  }

  async onFailure(target: DeploymentTarget): Promise<void> {
    const breaker = this.get(target);
    breaker.onFailure();
    if (breaker.state !== 'closed') return;
    const { failure_threshold, window_ms } = breaker.config;
    try {
      const shared = await this.store.increment(`breaker-failures:{${target.key}}`, 1, window_ms);
      this.outage.answered();
      if (shared.value >= failure_threshold) breaker.openFrom(Date.now());
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
    }
  }

  private onTransition(key: string, from: BreakerState, to: BreakerState): void {
    this.metrics.setBreakerState(key, to);
    this.metrics.breakerTransitions.inc({ deployment: key, to });
    if (this.applyingRemote) return;
    if (to === 'open') {
      this.logger.warn(
        `${key}: circuit ${from === 'half-open' ? 're-opened: the probe failed' : 'opened after repeated failures'}`,
      );
      this.announce({ key, event: 'open', at: this.breakers.get(key)?.snapshot().openedAt ?? Date.now() });
    } else if (to === 'half-open') {
      this.logger.log(`${key}: circuit half-open, probing`);
    } else {
      this.logger.log(`${key}: circuit closed, deployment back in rotation`);
      this.announce({ key, event: 'close', at: Date.now() });
      this.store.delete(`breaker-failures:{${key}}`).catch(() => undefined);
    }
  }

  private announce(message: BreakerMessage): void {
    this.store.publish(CHANNEL, JSON.stringify(message)).then(
      () => this.outage.answered(),
      (error: unknown) => {
        if (error instanceof StoreUnavailableError) this.outage.failed(error);
        else this.logger.error(error);
      },
    );
  }

  private applyRemote(raw: string): void {
    let message: BreakerMessage;
    try {
      message = JSON.parse(raw) as BreakerMessage;
    } catch {
      return;
    }
    const breaker = this.byKey(message.key);
    this.applyingRemote = true;
    try {
      if (message.event === 'open') breaker.openFrom(message.at);
      else breaker.closeFrom();
    } finally {
      this.applyingRemote = false;
    }
  }
}
