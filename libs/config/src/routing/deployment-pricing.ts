import type { DeploymentConfig, ModelConfig, PricingConfig, ProviderConfig } from './routing-config.schema';

/** The price of a deployment or provider marked `free: true`: nothing per token. */
export const FREE: PricingConfig = Object.freeze({ prompt_per_1k: 0, completion_per_1k: 0 });

/**
 * The price a configured deployment is billed at, from the most specific statement down: the deployment's own
 * `free` or `pricing`, the model's `pricing`, the provider's price list entry for the upstream model, the provider's
 * `free`. Undefined when none says anything: such a deployment is a config error, never a free ride.
 */
export function deploymentPricing(
  provider: Pick<ProviderConfig, 'pricing' | 'free'>,
  model: Pick<ModelConfig, 'pricing'>,
  deployment: Pick<DeploymentConfig, 'model' | 'pricing' | 'free'>,
): PricingConfig | undefined {
  if (deployment.free) return FREE;
  return (
    deployment.pricing ?? model.pricing ?? provider.pricing?.get(deployment.model) ?? (provider.free ? FREE : undefined)
  );
}

/**
 * The price of a direct `provider/model` call: the provider's price list entry for that upstream model, else the
 * price of a configured deployment of it (`configured`), else free when the provider is. Undefined: the call is refused.
 */
export function directPricing(
  provider: Pick<ProviderConfig, 'pricing' | 'free'>,
  upstreamModel: string,
  configured: PricingConfig | undefined,
): PricingConfig | undefined {
  return provider.pricing?.get(upstreamModel) ?? configured ?? (provider.free ? FREE : undefined);
}
