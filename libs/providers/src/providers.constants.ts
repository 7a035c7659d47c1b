/** Injection token of the array of every LlmProvider adapter; only ProviderRegistry reads it. */
export const LLM_PROVIDERS = Symbol('LLM_PROVIDERS');
