import type { OpenAiProfile, ProviderConfig } from '@xrouter/config';
import type { ThinkTagMode } from './think-splitter';

/** What differs between OpenAI-compatible hosts, after the provider's own settings are applied. */
export interface ResolvedOpenAiProfile {
  dropParams: readonly string[];
  thinkTags: ThinkTagMode;
}

/**
 * Profile defaults (docs/provider-protocols.md §4, §5): T-Pro 2.x is a Qwen3-family model that, on a host without a
 * reasoning parser, puts its thoughts in `<think>` at the start of `content`: split them off by default. MWS GPT and
 * generic hosts pass answers through. Which parameters a host rejects is unverified, so nothing is dropped unless
 * the provider's `drop_params` says so.
 */
const DEFAULTS: Record<OpenAiProfile, ResolvedOpenAiProfile> = {
  generic: { dropParams: [], thinkTags: 'keep' },
  mts: { dropParams: [], thinkTags: 'keep' },
  tbank: { dropParams: [], thinkTags: 'split' },
};

export function resolveOpenAiProfile(provider: ProviderConfig): ResolvedOpenAiProfile {
  const defaults = DEFAULTS[provider.profile ?? 'generic'];
  return {
    dropParams: provider.drop_params ?? defaults.dropParams,
    thinkTags: provider.think_tags ?? defaults.thinkTags,
  };
}
