import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { XRouterMetrics } from '@xrouter/metrics';
import { STORE, type Store } from '@xrouter/store';
import { rateLimitConfig } from './rate-limit.config';
import { RateLimitService } from './rate-limit.service';
import { StoreThrottlerStorage } from './store-throttler.storage';

/**
 * Per-key rate limits: exports {@link RateLimitService} (whose `charge` the app calls with a finished call's token
 * count), which {@link RateLimitGuard} — registered by the app as a global guard after the auth guard — checks.
 * Needs, from the app: the global `STORE` (StoreModule), `XRouterMetrics` (MetricsModule) and the `rateLimitConfig`
 * namespace loaded in ConfigModule. Global, so the OpenAI module injects RateLimitService without importing this module a second time from elsewhere.
 */
@Global()
@Module({
  imports: [
    // Throttler for public routes that take secrets (the OAuth endpoints opt in with @UseGuards(ThrottlerGuard)):
    // per client IP, counters in the shared store so the limit holds across replicas.
    ThrottlerModule.forRootAsync({
      inject: [STORE, XRouterMetrics, rateLimitConfig.KEY],
      useFactory: (store: Store, metrics: XRouterMetrics, settings: ConfigType<typeof rateLimitConfig>) => ({
        // Named 'default' so throttler answers with a plain Retry-After header.
        throttlers: [{ name: 'default', ttl: 60_000, limit: settings.publicPerMinute ?? 300 }],
        storage: new StoreThrottlerStorage(store, metrics),
      }),
    }),
  ],
  providers: [RateLimitService],
  exports: [RateLimitService],
})
export class RateLimitModule {}
