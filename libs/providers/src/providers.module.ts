import { DynamicModule, Module } from '@nestjs/common';
import { AccountRateLimiter } from './account-rate.limiter';
import { GigaChatProvider } from './gigachat/gigachat.provider';
import { UpstreamHttpClient } from './http/upstream-http.client';
import { OpenAiCompatibleProvider } from './openai-compatible/openai-compatible.provider';
import { ProviderRegistry } from './provider.registry';
import { YandexProvider } from './yandex/yandex.provider';
import { LLM_PROVIDERS, PROVIDERS_OPTIONS, type ProvidersModuleOptions } from './providers.constants';
import type { LlmProvider } from './llm-provider.interface';

/** Every adapter, gathered under one array token. Add a vendor: its provider class here and in the factory. */
@Module({})
export class ProvidersModule {
  static forRoot(options: ProvidersModuleOptions): DynamicModule {
    return {
      module: ProvidersModule,
      providers: [
        { provide: PROVIDERS_OPTIONS, useValue: options },
        UpstreamHttpClient,
        OpenAiCompatibleProvider,
        YandexProvider,
        GigaChatProvider,
        {
          provide: LLM_PROVIDERS,
          useFactory: (...adapters: LlmProvider[]) => adapters,
          inject: [OpenAiCompatibleProvider, YandexProvider, GigaChatProvider],
        },
        ProviderRegistry,
        AccountRateLimiter,
      ],
      exports: [ProviderRegistry, UpstreamHttpClient, AccountRateLimiter],
    };
  }
}
