import { Inject, Injectable } from '@nestjs/common';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { ProviderType } from '@xrouter/config';
import type { LlmProvider } from './llm-provider.interface';
import { LLM_PROVIDERS } from './providers.constants';

/** The only reader of the LLM_PROVIDERS array: finds the adapter for a provider type. */
@Injectable()
export class ProviderRegistry {
  private readonly byType: Map<ProviderType, LlmProvider>;

  constructor(@Inject(LLM_PROVIDERS) providers: LlmProvider[]) {
    this.byType = new Map(providers.map((p) => [p.type, p]));
  }

  get(type: ProviderType): LlmProvider {
    const provider = this.byType.get(type);
    if (!provider) throw new GatewayError(ErrorCode.INTERNAL, `No adapter is registered for provider type '${type}'`);
    return provider;
  }

  has(type: ProviderType): boolean {
    return this.byType.has(type);
  }
}
