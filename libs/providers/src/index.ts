export * from './http/sse';
export * from './http/upstream-error';
export * from './http/upstream-http.client';
export * from './llm-provider.interface';
export * from './openai-compatible/openai-compatible.provider';
export * from './provider.registry';
export * from './providers.constants';
export * from './providers.module';
