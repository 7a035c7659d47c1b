import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { authConfig, AuthGuard, AuthModule, oauthConfig } from '@xrouter/auth';
import { validateEnvironment, type RoutingConfig } from '@xrouter/config';
import { databaseConfig, DatabaseModule } from '@xrouter/database';
import { healthConfig, HealthModule } from '@xrouter/health';
import { MetricsModule } from '@xrouter/metrics';
import { rateLimitConfig, RateLimitGuard, RateLimitModule } from '@xrouter/rate-limit';
import { RoutingModule } from '@xrouter/routing';
import { storeConfig, StoreModule } from '@xrouter/store';
import { usageConfig } from '@xrouter/usage';
import { appConfig } from './app.config';
import { responsesConfig } from './openai/responses/responses.config';
import { AdminModule } from './admin/admin.module';
import { DependencyReport } from './health/dependency.report';
import { HealthController } from './health/health.controller';
import { JsonBodyGuard } from './json-body';
import { MetricsController } from './metrics/metrics.controller';
import { OpenAiModule } from './openai/openai.module';

/** Every env namespace the gateway reads; validated together so one message names every bad variable. */
export const CONFIG_NAMESPACES = [
  appConfig,
  databaseConfig,
  storeConfig,
  authConfig,
  oauthConfig,
  usageConfig,
  responsesConfig,
  rateLimitConfig,
  healthConfig,
];

@Module({})
export class GatewayModule {
  static forRoot(routing: RoutingConfig): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [HealthController],
      providers: [
        DependencyReport,
        // Admission, in this order, for every route (both doors run the global guards in order: front-door/):
        // the credential and its scopes, its rate limit (one store call), and only then the body is read.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: JsonBodyGuard },
      ],
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          cache: true,
          ignoreEnvFile: true,
          load: CONFIG_NAMESPACES,
          validate: (env) => validateEnvironment(CONFIG_NAMESPACES, env),
        }),
        DatabaseModule.forRoot(),
        StoreModule.forRootAsync({
          inject: [storeConfig.KEY],
          useFactory: (store: ConfigType<typeof storeConfig>) => store,
        }),
        AuthModule,
        RateLimitModule,
        MetricsModule.forRoot(MetricsController),
        HealthModule,
        RoutingModule.forRoot(routing),
        OpenAiModule,
        AdminModule,
      ],
    };
  }
}
