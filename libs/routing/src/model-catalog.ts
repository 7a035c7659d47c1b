import { ErrorCode, GatewayError, type ModelObject } from '@xrouter/common';
import {
  CAPABILITY_NAMES,
  configuredAccounts,
  deploymentPricing,
  directPricing,
  type DeploymentConfig,
  type ModelConfig,
  type CircuitBreakerConfig,
  type PricingConfig,
  type ProviderConfig,
  type RetryConfig,
  type RoutingConfig,
  type Strategy,
  type TimeoutsConfig,
} from '@xrouter/config';
import { deploymentCapabilities, type Capabilities, type DeploymentTarget } from '@xrouter/providers';

/**
 * A deployment target as the catalog resolved it, once, when it was built: the price it is billed at, the
 * settings of its circuit breaker (its deployment's, else its model's, else `defaults`), what it can do and what
 * it serves without (`capabilities.ts`).
 */
export interface CatalogTarget extends DeploymentTarget {
  readonly pricing: PricingConfig;
  readonly breaker: CircuitBreakerConfig;
  readonly capabilities: Capabilities;
  /** The model's `drop_params`, then the provider's. */
  readonly dropParams: readonly string[];
}

/** One configured deployment: the same provider and upstream model over one or more of the provider's accounts. */
export interface DeploymentGroup {
  /** `provider/model` (or `provider/account/model` when pinned to one account). */
  readonly key: string;
  readonly weight: number;
  readonly targets: readonly CatalogTarget[];
}

/** A public model as the router sees it: every concrete deployment it may use, in configured order. */
export interface CatalogModel {
  readonly name: string;
  readonly kind: 'chat' | 'embeddings';
  readonly strategy: Strategy;
  readonly groups: readonly DeploymentGroup[];
  /** Every target of every group, in configured order. */
  readonly deployments: readonly CatalogTarget[];
  readonly timeouts: TimeoutsConfig;
  readonly retry: RetryConfig;
  /** `owned_by` in /v1/models: the providers behind it, or "emulator". */
  readonly ownedBy: string;
  /**
   * Addressed as `provider/model`, not configured: any string a client sends, so it gets no breaker, latency or
   * metric series of its own (that would let clients grow them without bound).
   */
  readonly direct: boolean;
}

function targetsFor(
  provider: ProviderConfig,
  upstreamModel: string,
  settings: Pick<CatalogTarget, 'pricing' | 'breaker' | 'capabilities' | 'dropParams'>,
  accountId?: string,
): CatalogTarget[] {
  return configuredAccounts(provider)
    .filter((account) => !accountId || account.id === accountId)
    .map((account) => ({
      key: `${provider.id}/${account.id}/${upstreamModel}`,
      provider,
      account,
      upstreamModel,
      ...settings,
    }));
}

/** The price of a configured deployment; the loader refuses a file without one, so this only guards hand-built configs. */
function pricingOf(provider: ProviderConfig, model: ModelConfig, deployment: DeploymentConfig): PricingConfig {
  const pricing = deploymentPricing(provider, model, deployment);
  if (!pricing) {
    throw new Error(
      `model '${model.name}': the deployment of provider '${provider.id}', upstream model '${deployment.model}', has no price`,
    );
  }
  return pricing;
}

/**
 * What a request to the model may use: a feature any of its deployments has (the router sends such a request only
 * to those). Embedding models show the embedding features, chat models the chat ones.
 */
export function modelCapabilities(model: CatalogModel): Record<string, boolean> {
  const names = CAPABILITY_NAMES.filter((name) => (name === 'dimensions') === (model.kind === 'embeddings'));
  return Object.fromEntries(names.map((name) => [name, model.deployments.some((d) => d.capabilities[name])]));
}

function ownedBy(deployments: readonly DeploymentTarget[]): string {
  if (deployments.every((d) => d.provider.emulated)) return 'emulator';
  return [...new Set(deployments.map((d) => d.provider.id))].join(',');
}

/**
 * Public model names and aliases resolved to deployments, built once from the routing config, each target with its
 * price. Providers without a configured account are left out; a model left with no deployment is not offered.
 * Clients may also address `provider/model` directly: every configured account of that provider, with the upstream
 * model id as given, priced by {@link directPricing} — and refused when it has no price.
 */
export class ModelCatalog {
  private readonly byName = new Map<string, CatalogModel>();
  private readonly offered: CatalogModel[] = [];
  private readonly providers: Map<string, ProviderConfig>;
  /** `provider/upstream-model` → the price of its first configured deployment, for direct calls. */
  private readonly configuredPrices = new Map<string, PricingConfig>();

  /** `supported` says which provider types have an adapter; deployments of other types are left out. */
  constructor(
    private readonly config: RoutingConfig,
    supported: (type: ProviderConfig['type']) => boolean = () => true,
  ) {
    this.providers = new Map(config.providers.filter((p) => supported(p.type)).map((p) => [p.id, p]));
    for (const model of config.models) {
      for (const d of model.deployments) {
        const provider = this.providers.get(d.provider);
        const key = `${d.provider}/${d.model}`;
        if (provider && !this.configuredPrices.has(key)) this.configuredPrices.set(key, pricingOf(provider, model, d));
      }
      const entry = this.buildModel(model);
      if (entry.deployments.length === 0) continue;
      this.checkBreakers(entry);
      this.offered.push(entry);
      for (const name of [model.name, ...model.aliases]) this.byName.set(name, entry);
    }
  }

  /** `target key` → the model whose settings made its breaker, so two models cannot give one deployment two. */
  private readonly breakerOwners = new Map<string, { model: string; breaker: CircuitBreakerConfig }>();

  private checkBreakers(model: CatalogModel): void {
    for (const target of model.deployments) {
      const owner = this.breakerOwners.get(target.key);
      if (!owner) {
        this.breakerOwners.set(target.key, { model: model.name, breaker: target.breaker });
      } else if (JSON.stringify(owner.breaker) !== JSON.stringify(target.breaker)) {
        throw new Error(
          `deployment ${target.key} has one circuit breaker shared by every model using it, but models ` +
            `'${owner.model}' and '${model.name}' give it different circuit_breaker settings`,
        );
      }
    }
  }

  private buildModel(model: ModelConfig): CatalogModel {
    const groups = model.deployments
      .map((d): DeploymentGroup => {
        const provider = this.providers.get(d.provider);
        return {
          key: [d.provider, d.account, d.model].filter(Boolean).join('/'),
          weight: d.weight ?? 1,
          targets: provider
            ? targetsFor(
                provider,
                d.model,
                {
                  pricing: pricingOf(provider, model, d),
                  breaker: d.circuit_breaker ?? model.circuit_breaker ?? this.config.defaults.circuit_breaker,
                  capabilities: deploymentCapabilities(provider, d.capabilities),
                  dropParams: [...new Set([...(model.drop_params ?? []), ...(provider.drop_params ?? [])])],
                },
                d.account,
              )
            : [],
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
      ownedBy: ownedBy(deployments),
      direct: false,
    };
  }

  /**
   * A configured name or alias, or `provider/upstream-model`; undefined when nothing can serve it. A direct call to an
   * upstream model with no price (and a provider that is not free) throws a 400: nobody is served unbilled.
   */
  resolve(name: string): CatalogModel | undefined {
    const known = this.byName.get(name);
    if (known) return known;
    const slash = name.indexOf('/');
    if (slash <= 0) return undefined;
    const provider = this.providers.get(name.slice(0, slash));
    const upstreamModel = name.slice(slash + 1);
    if (!provider || !upstreamModel || configuredAccounts(provider).length === 0) return undefined;
    const pricing = directPricing(
      provider,
      upstreamModel,
      this.configuredPrices.get(`${provider.id}/${upstreamModel}`),
    );
    if (!pricing) {
      throw new GatewayError(
        ErrorCode.BAD_REQUEST,
        `The model '${name}' has no price on this gateway, so it cannot be called directly; ask an administrator to ` +
          `price '${upstreamModel}' for provider '${provider.id}'`,
        { param: 'model' },
      );
    }
    const deployments = targetsFor(provider, upstreamModel, {
      pricing,
      breaker: this.config.defaults.circuit_breaker,
      capabilities: deploymentCapabilities(provider),
      dropParams: provider.drop_params ?? [],
    });
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
      ownedBy: ownedBy(deployments),
      direct: true,
    };
  }

  /** Every offered model (names, then aliases) as OpenAI model objects. */
  list(createdAt: number): ModelObject[] {
    return this.offered.flatMap((model) => {
      const names = [model.name, ...(this.config.models.find((m) => m.name === model.name)?.aliases ?? [])];
      const capabilities = modelCapabilities(model);
      return names.map((id) => ({
        id,
        object: 'model' as const,
        created: createdAt,
        owned_by: model.ownedBy,
        capabilities,
      }));
    });
  }

  /** Every offered model. */
  models(): readonly CatalogModel[] {
    return this.offered;
  }

  /** Every deployment of every offered model, once each. */
  deployments(): CatalogTarget[] {
    const seen = new Map<string, CatalogTarget>();
    for (const model of this.offered) for (const d of model.deployments) seen.set(d.key, d);
    return [...seen.values()];
  }
}
