import type { RoutingConfig } from '@xrouter/config';
import { AccountRateLimiter, OpenAiCompatibleProvider, ProviderRegistry, UpstreamHttpClient } from '@xrouter/providers';
import { BreakerRegistry, ModelCatalog, RoutingService } from '@xrouter/routing';
import type { Store } from '@xrouter/store';

export interface TestRouter {
  router: RoutingService;
  breakers: BreakerRegistry;
  close(): Promise<void>;
}

/** The real routing stack (catalog, breakers shared through `store`, account limits, undici) without Nest. */
export async function buildRouter(
  config: RoutingConfig,
  store: Store,
  http = new UpstreamHttpClient(),
): Promise<TestRouter> {
  const registry = new ProviderRegistry([new OpenAiCompatibleProvider(http)]);
  const breakers = new BreakerRegistry(config, store);
  await breakers.onModuleInit();
  const router = new RoutingService(new ModelCatalog(config), registry, new AccountRateLimiter(store), breakers);
  return {
    router,
    breakers,
    close: async () => {
      await breakers.onModuleDestroy();
      await http.onApplicationShutdown();
    },
  };
}
