import { DynamicModule, Module, Type } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { XRouterMetrics } from './xrouter-metrics';

/**
 * Prometheus at `/metrics` (Node.js default metrics included) and the XRouterMetrics service on the default
 * registry. The app passes its controller: the route must be opened by the app's own auth decorators.
 */
@Module({})
export class MetricsModule {
  static forRoot(controller: Type<unknown>): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      imports: [PrometheusModule.register({ controller, defaultMetrics: { enabled: true } })],
      providers: [{ provide: XRouterMetrics, useFactory: () => new XRouterMetrics(register) }],
      exports: [XRouterMetrics],
    };
  }
}
