export * from './config.constants';
export * from './define-config';
export * from './routing/ca-bundle';
export * from './routing/routing-config.loader';
export * from './routing/routing-config.schema';
export * from './routing/provider-credentials';
export * from './routing/deployment-pricing';
export * from './routing/service-account-key';
