import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { XRouterMetrics } from '@xrouter/metrics';
import { STORE, type Store } from '@xrouter/store';
import { rateLimitConfig } from './rate-limit.config';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { StoreThrottlerStorage } from './store-throttler.storage';

/**
 * Per-key rate limits: registers {@link RateLimitGuard} as a global guard and exports {@link RateLimitService}
 * (whose `charge` the app calls with a finished call's token count). Needs, from the app: the global `STORE`
 * (StoreModule), `XRouterMetrics` (MetricsModule) and the `rateLimitConfig` namespace loaded in ConfigModule.
 *
 * Global guards run in the order their modules are scanned: import this module AFTER AuthModule, so the auth guard
 * has set `request.principal` first (the guard throws on a closed route without one, so a wrong order shows at once).
 * Global, so the OpenAI module injects RateLimitService without importing this module a second time from elsewhere.
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
  providers: [RateLimitService, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RateLimitService],
})
export class RateLimitModule {}
