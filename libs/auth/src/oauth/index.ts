export * from './oauth.module';
export * from './oauth.config';
export * from './oauth-access-token.resolver';
export * from './oauth-client.entity';
export * from './oauth-token.entity';
