/** Injection token of the array of every LlmProvider adapter; only ProviderRegistry reads it. */
export const LLM_PROVIDERS = Symbol('LLM_PROVIDERS');

/** Injection token of the {@link ProvidersModuleOptions} given to `ProvidersModule.forRoot`. */
export const PROVIDERS_OPTIONS = Symbol('PROVIDERS_OPTIONS');

export interface ProvidersModuleOptions {
  /** Deadline of a TCP + TLS connect to an upstream (the routing config's `defaults.timeouts.connect_ms`). */
  connectTimeoutMs: number;
}
