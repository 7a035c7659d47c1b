import { DynamicModule, Module } from '@nestjs/common';
import { ROUTING_CONFIG, type RoutingConfig } from '@xrouter/config';
import { ProviderRegistry, ProvidersModule } from '@xrouter/providers';
import { BreakerRegistry } from './breaker.registry';
import { CredentialRejections } from './credential-rejections';
import { DeploymentStatusService } from './deployment-status.service';
import { LatencyTracker } from './latency-tracker';
import { ModelCatalog } from './model-catalog';
import { MODEL_CATALOG } from './routing.constants';
import { RoutingService } from './routing.service';

/** The router over the routing config the app loaded (and, with no credentials, pointed at the emulators). */
@Module({})
export class RoutingModule {
  static forRoot(config: RoutingConfig): DynamicModule {
    return {
      module: RoutingModule,
      global: true,
      imports: [ProvidersModule.forRoot({ connectTimeoutMs: config.defaults.timeouts.connect_ms })],
      providers: [
        { provide: ROUTING_CONFIG, useValue: config },
        {
          provide: MODEL_CATALOG,
          useFactory: (registry: ProviderRegistry) => new ModelCatalog(config, (type) => registry.has(type)),
          inject: [ProviderRegistry],
        },
        BreakerRegistry,
        LatencyTracker,
        CredentialRejections,
        RoutingService,
        DeploymentStatusService,
      ],
      exports: [RoutingService, DeploymentStatusService, BreakerRegistry, MODEL_CATALOG, ROUTING_CONFIG],
    };
  }
}
