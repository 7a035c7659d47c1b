export * from './metrics.module';
export * from './xrouter-metrics';
export * from './http-metrics.middleware';
