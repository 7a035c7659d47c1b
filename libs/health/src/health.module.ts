import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import {
  DatabaseHealthIndicator,
  EventLoopHealthIndicator,
  ShutdownHealthIndicator,
  StoreHealthIndicator,
} from './dependency-health.indicators';
import { EventLoopMonitor } from './event-loop.monitor';
import { healthConfig } from './health.config';
import { ShutdownState } from './shutdown.state';

const INDICATORS = [DatabaseHealthIndicator, StoreHealthIndicator, ShutdownHealthIndicator, EventLoopHealthIndicator];

/**
 * Indicators for this process (lifecycle, event loop) and for the shared dependencies (database, store); the app
 * composes the first into readiness and all of them into the details at /health.
 */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ConfigModule.forFeature(healthConfig)],
  providers: [ShutdownState, EventLoopMonitor, ...INDICATORS],
  exports: [TerminusModule, ShutdownState, ...INDICATORS],
})
export class HealthModule {}
