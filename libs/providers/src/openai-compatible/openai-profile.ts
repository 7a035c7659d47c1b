import type { OpenAiProfile, ProviderConfig } from '@xrouter/config';
import type { ThinkTagMode } from './think-splitter';

/** What differs between OpenAI-compatible hosts, after the provider's own settings are applied. */
export interface ResolvedOpenAiProfile {
  dropParams: readonly string[];
  thinkTags: ThinkTagMode;
  /** Streams ask for usage (`stream_options.include_usage`) even when the client did not. */
  streamUsage: boolean;
}

/**
 * Profile defaults (docs/provider-protocols.md §3.10, §4, §5): T-Pro 2.x is a Qwen3-family model that, on a host without
 * a reasoning parser, puts its thoughts in `<think>` at the start of `content`: split them off by default. MWS GPT and
 * generic hosts pass answers through. Which parameters a host rejects is unverified, so nothing is dropped unless
 * the provider's `drop_params` says so — except on Yandex, whose recorded requests never carry `stream_options`
 * (whether the endpoint accepts it is unknown; its vLLM-served models send a usage chunk unasked, YandexGPT none).
 */
const DEFAULTS: Record<OpenAiProfile, ResolvedOpenAiProfile> = {
  generic: { dropParams: [], thinkTags: 'keep', streamUsage: true },
  mts: { dropParams: [], thinkTags: 'keep', streamUsage: true },
  tbank: { dropParams: [], thinkTags: 'split', streamUsage: true },
  yandex: { dropParams: ['stream_options'], thinkTags: 'keep', streamUsage: false },
};

export function resolveOpenAiProfile(provider: ProviderConfig): ResolvedOpenAiProfile {
  const defaults = DEFAULTS[provider.profile ?? 'generic'];
  return {
    dropParams: provider.drop_params ?? defaults.dropParams,
    thinkTags: provider.think_tags ?? defaults.thinkTags,
    streamUsage: defaults.streamUsage,
  };
}
