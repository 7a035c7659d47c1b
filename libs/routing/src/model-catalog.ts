import type { ModelObject } from '@xrouter/common';
import {
  configuredAccounts,
  type ModelConfig,
  type PricingConfig,
  type ProviderConfig,
  type RetryConfig,
  type RoutingConfig,
  type Strategy,
  type TimeoutsConfig,
} from '@xrouter/config';
import type { DeploymentTarget } from '@xrouter/providers';

/** One configured deployment: the same provider and upstream model over one or more of the provider's accounts. */
export interface DeploymentGroup {
  /** `provider/model` (or `provider/account/model` when pinned to one account). */
  readonly key: string;
  readonly weight: number;
  readonly targets: readonly DeploymentTarget[];
}

/** A public model as the router sees it: every concrete deployment it may use, in configured order. */
export interface CatalogModel {
  readonly name: string;
  readonly kind: 'chat' | 'embeddings';
  readonly strategy: Strategy;
  readonly groups: readonly DeploymentGroup[];
  /** Every target of every group, in configured order. */
  readonly deployments: readonly DeploymentTarget[];
  readonly timeouts: TimeoutsConfig;
  readonly retry: RetryConfig;
  readonly pricing?: PricingConfig;
  /** `owned_by` in /v1/models: the providers behind it, or "emulator". */
  readonly ownedBy: string;
  /**
   * Addressed as `provider/model`, not configured: any string a client sends, so it gets no breaker, latency or
   * metric series of its own (that would let clients grow them without bound).
   */
  readonly direct: boolean;
}

function targetsFor(provider: ProviderConfig, upstreamModel: string, accountId?: string): DeploymentTarget[] {
  return configuredAccounts(provider)
    .filter((account) => !accountId || account.id === accountId)
    .map((account) => ({ key: `${provider.id}/${account.id}/${upstreamModel}`, provider, account, upstreamModel }));
}

function ownedBy(deployments: readonly DeploymentTarget[]): string {
  if (deployments.every((d) => d.provider.emulated)) return 'emulator';
  return [...new Set(deployments.map((d) => d.provider.id))].join(',');
}

/**
 * Public model names and aliases resolved to deployments, built once from the routing config. Providers without a
 * configured account are left out; a model left with no deployment is not offered. Clients may also address
 * `provider/model` directly: every configured account of that provider, with the upstream model id as given.
 */
export class ModelCatalog {
  private readonly byName = new Map<string, CatalogModel>();
  private readonly offered: CatalogModel[] = [];
  private readonly providers: Map<string, ProviderConfig>;

  /** `supported` says which provider types have an adapter; deployments of other types are left out. */
  constructor(
    private readonly config: RoutingConfig,
    supported: (type: ProviderConfig['type']) => boolean = () => true,
  ) {
    this.providers = new Map(config.providers.filter((p) => supported(p.type)).map((p) => [p.id, p]));
    for (const model of config.models) {
      const entry = this.buildModel(model);
      if (entry.deployments.length === 0) continue;
      this.offered.push(entry);
      for (const name of [model.name, ...model.aliases]) this.byName.set(name, entry);
    }
  }

  private buildModel(model: ModelConfig): CatalogModel {
    const groups = model.deployments
      .map((d): DeploymentGroup => {
        const provider = this.providers.get(d.provider);
        return {
          key: [d.provider, d.account, d.model].filter(Boolean).join('/'),
          weight: d.weight ?? 1,
          targets: provider ? targetsFor(provider, d.model, d.account) : [],
        };
      })
      .filter((group) => group.targets.length > 0);
    const deployments = groups.flatMap((group) => group.targets);
    return {
      name: model.name,
      kind: model.kind,
      strategy: model.strategy,
      groups,
      deployments,
      timeouts: model.timeouts ?? this.config.defaults.timeouts,
      retry: model.retry ?? this.config.defaults.retry,
      pricing: model.pricing,
      ownedBy: ownedBy(deployments),
      direct: false,
    };
  }

  /** A configured name or alias, or `provider/upstream-model`; undefined when nothing can serve it. */
  resolve(name: string): CatalogModel | undefined {
    const known = this.byName.get(name);
    if (known) return known;
    const slash = name.indexOf('/');
    if (slash <= 0) return undefined;
    const provider = this.providers.get(name.slice(0, slash));
    const upstreamModel = name.slice(slash + 1);
    if (!provider || !upstreamModel) return undefined;
    const deployments = targetsFor(provider, upstreamModel);
    if (deployments.length === 0) return undefined;
    const configured = this.offered.find((m) =>
      m.deployments.some((d) => d.provider === provider && d.upstreamModel === upstreamModel),
    );
    return {
      name,
      kind: configured?.kind ?? 'chat',
      strategy: 'fallback',
      groups: [{ key: `${provider.id}/${upstreamModel}`, weight: 1, targets: deployments }],
      deployments,
      timeouts: this.config.defaults.timeouts,
      retry: this.config.defaults.retry,
      pricing: configured?.pricing,
      ownedBy: ownedBy(deployments),
      direct: true,
    };
  }

  /** Every offered model (names, then aliases) as OpenAI model objects. */
  list(createdAt: number): ModelObject[] {
    return this.offered.flatMap((model) => {
      const names = [model.name, ...(this.config.models.find((m) => m.name === model.name)?.aliases ?? [])];
      return names.map((id) => ({ id, object: 'model' as const, created: createdAt, owned_by: model.ownedBy }));
    });
  }

  /** Every offered model. */
  models(): readonly CatalogModel[] {
    return this.offered;
  }

  /** Every deployment of every offered model, once each. */
  deployments(): DeploymentTarget[] {
    const seen = new Map<string, DeploymentTarget>();
    for (const model of this.offered) for (const d of model.deployments) seen.set(d.key, d);
    return [...seen.values()];
  }
}
