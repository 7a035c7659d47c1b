import type { RoutingConfig } from '@xrouter/config';
import {
  AccountRateLimiter,
  GigaChatProvider,
  OpenAiCompatibleProvider,
  ProviderRegistry,
  UpstreamHttpClient,
  YandexProvider,
} from '@xrouter/providers';
import { XRouterMetrics } from '@xrouter/metrics';
import {
  BreakerRegistry,
  CredentialRejections,
  DeploymentStatusService,
  LatencyTracker,
  ModelCatalog,
  RoutingService,
} from '@xrouter/routing';
import { Registry } from 'prom-client';
import { LocalLimits, type Store } from '@xrouter/store';

export interface TestRouter {
  router: RoutingService;
  /** What /admin/providers shows of this router's deployments. */
  status: DeploymentStatusService;
  metrics: XRouterMetrics;
  close(): Promise<void>;
}

/**
 * The real routing stack (catalog, breakers shared through `store`, account limits, undici) without Nest; `every`
 * adapter (GigaChat and Yandex too), or the OpenAI-compatible one only.
 */
export async function buildRouter(
  config: RoutingConfig,
  store: Store,
  http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 }),
  every = false,
): Promise<TestRouter> {
  const registry = new ProviderRegistry([
    new OpenAiCompatibleProvider(http, store),
    ...(every ? [new GigaChatProvider(http, store), new YandexProvider(http, store)] : []),
  ]);
  const metrics = new XRouterMetrics(new Registry());
  const catalog = new ModelCatalog(config);
  const breakers = new BreakerRegistry(config, store, metrics, catalog);
  await breakers.onModuleInit();
  const latency = new LatencyTracker();
  const credentials = new CredentialRejections(metrics);
  const router = new RoutingService(
    catalog,
    registry,
    new AccountRateLimiter(store, new LocalLimits()),
    breakers,
    latency,
    credentials,
    metrics,
  );
  return {
    router,
    status: new DeploymentStatusService(catalog, breakers, latency, credentials),
    metrics,
    close: async () => {
      await breakers.onModuleDestroy();
      await http.onApplicationShutdown();
    },
  };
}
