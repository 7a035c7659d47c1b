import type { DeploymentTarget } from '../llm-provider.interface';

/** The provider's base URL (with or without a trailing slash) joined with an API path. */
export function upstreamUrl(target: DeploymentTarget, path: string): string {
  return `${target.provider.base_url.replace(/\/+$/, '')}${path}`;
}
