export * from './dependency-health.indicators';
export * from './health.module';
export * from './shutdown.state';
export * from './with-timeout';
export * from './event-loop.monitor';
export * from './health.config';
