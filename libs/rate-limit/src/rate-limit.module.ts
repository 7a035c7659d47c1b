import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';

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
  providers: [RateLimitService, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RateLimitService],
})
export class RateLimitModule {}
