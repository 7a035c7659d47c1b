export * from './dependency-health.indicators';
export * from './health.module';
export * from './shutdown.state';
export * from './with-timeout';
