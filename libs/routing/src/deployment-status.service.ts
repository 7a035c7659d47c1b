import { Inject, Injectable } from '@nestjs/common';
import { BreakerRegistry } from './breaker.registry';
import type { BreakerState } from './circuit-breaker';
import { CredentialRejections } from './credential-rejections';
import { LatencyTracker } from './latency-tracker';
import type { ModelCatalog } from './model-catalog';
import { MODEL_CATALOG } from './routing.constants';

/** One deployment target as /admin/providers shows it. */
export interface DeploymentStatus {
  key: string;
  provider: string;
  type: string;
  account: string;
  model: string;
  emulated: boolean;
  breaker: { state: BreakerState; failures: number; openedAt: string | null };
  /** Set while the upstream refuses this account's credentials (401/403). */
  credentialsRejected: { since: string; message: string } | null;
  /** EWMA of recent latencies (time to first token for streams), null before the first answer. */
  latencyMs: number | null;
}

/**
 * What this replica's router knows about its deployments — breakers, measured latencies, refused credentials — for
 * /admin/providers and /health. Reads only: the router is what writes them.
 */
@Injectable()
export class DeploymentStatusService {
  constructor(
    @Inject(MODEL_CATALOG) private readonly catalog: ModelCatalog,
    private readonly breakers: BreakerRegistry,
    private readonly latency: LatencyTracker,
    private readonly credentials: CredentialRejections,
  ) {}

  /** Configured models none of whose deployments can take a request now (every breaker open). */
  unroutableModels(): string[] {
    return this.catalog
      .models()
      .filter((model) => !model.deployments.some((target) => this.breakers.get(target).isAvailable()))
      .map((model) => model.name);
  }

  /** Every deployment target the catalog offers, with its breaker and the latency the router measured. */
  deploymentStatus(): DeploymentStatus[] {
    const groupKeys = new Map<string, string>();
    for (const model of this.catalog.models())
      for (const g of model.groups) for (const t of g.targets) groupKeys.set(t.key, g.key);
    return this.catalog.deployments().map((target) => {
      const breaker = this.breakers.get(target).snapshot();
      const latency = this.latency.get(groupKeys.get(target.key) ?? target.key);
      return {
        key: target.key,
        provider: target.provider.id,
        type: target.provider.type,
        account: target.account.id,
        model: target.upstreamModel,
        emulated: target.provider.emulated === true,
        breaker: {
          state: breaker.state,
          failures: breaker.failures,
          openedAt: breaker.openedAt ? new Date(breaker.openedAt).toISOString() : null,
        },
        latencyMs: latency === undefined ? null : Math.round(latency),
        credentialsRejected: this.credentials.state(target),
      };
    });
  }
}
