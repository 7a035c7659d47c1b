import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyResolver } from './api-key.resolver';
import { CREDENTIAL_RESOLVERS, type CredentialResolver } from './credential-resolver';
import { CredentialService } from './credential.service';
import { ApiKeyEntity } from './entities/api-key.entity';
import { LastUsedRecorder } from './last-used.recorder';
import { OAuthAccessTokenResolver } from './oauth/oauth-access-token.resolver';
import { OAuthTokenEntity } from './oauth/oauth-token.entity';

/**
 * Bearer secrets to principals: the resolvers of API keys and OAuth access tokens behind the cached
 * {@link CredentialService}. The lowest module of the lib, so users, API keys and the OAuth server all build on it.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, OAuthTokenEntity])],
  providers: [
    ApiKeyResolver,
    OAuthAccessTokenResolver,
    {
      provide: CREDENTIAL_RESOLVERS,
      useFactory: (...resolvers: CredentialResolver[]) => resolvers,
      inject: [ApiKeyResolver, OAuthAccessTokenResolver],
    },
    CredentialService,
    LastUsedRecorder,
  ],
  exports: [CredentialService],
})
export class CredentialsModule {}
