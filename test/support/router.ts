import type { RoutingConfig } from '@xrouter/config';
import { AccountRateLimiter, OpenAiCompatibleProvider, ProviderRegistry, UpstreamHttpClient } from '@xrouter/providers';
import { XRouterMetrics } from '@xrouter/metrics';
import { BreakerRegistry, ModelCatalog, RoutingService } from '@xrouter/routing';
import { Registry } from 'prom-client';
import { LocalLimits, type Store } from '@xrouter/store';

export interface TestRouter {
  router: RoutingService;
  metrics: XRouterMetrics;
  close(): Promise<void>;
}

/** The real routing stack (catalog, breakers shared through `store`, account limits, undici) without Nest. */
export async function buildRouter(
  config: RoutingConfig,
  store: Store,
  http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 }),
): Promise<TestRouter> {
  const registry = new ProviderRegistry([new OpenAiCompatibleProvider(http)]);
  const metrics = new XRouterMetrics(new Registry());
  const catalog = new ModelCatalog(config);
  const breakers = new BreakerRegistry(config, store, metrics, catalog);
  await breakers.onModuleInit();
  const router = new RoutingService(
    catalog,
    registry,
    new AccountRateLimiter(store, new LocalLimits()),
    breakers,
    metrics,
  );
  return {
    router,
    metrics,
    close: async () => {
      await breakers.onModuleDestroy();
      await http.onApplicationShutdown();
    },
  };
}
