import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator, ShutdownHealthIndicator, StoreHealthIndicator } from './dependency-health.indicators';
import { ShutdownState } from './shutdown.state';

/** Indicators for the database, the store and the process lifecycle; the app composes them into its probes. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  providers: [ShutdownState, DatabaseHealthIndicator, StoreHealthIndicator, ShutdownHealthIndicator],
  exports: [TerminusModule, ShutdownState, DatabaseHealthIndicator, StoreHealthIndicator, ShutdownHealthIndicator],
})
export class HealthModule {}
