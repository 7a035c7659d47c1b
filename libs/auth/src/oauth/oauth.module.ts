import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UserEntity } from '../entities/user.entity';
import { formBody } from './form-body.middleware';
import { OAuthAccessTokenResolver } from './oauth-access-token.resolver';
import { OAuthClientEntity } from './oauth-client.entity';
import { OAuthClientsController } from './oauth-clients.controller';
import { OAuthClientsService } from './oauth-clients.service';
import { oauthConfig } from './oauth.config';
import { OAuthController } from './oauth.controller';
import { OAuthService } from './oauth.service';
import { OAuthTokenEntity } from './oauth-token.entity';
import { OAuthTokenService } from './oauth-tokens.service';

/**
 * The OAuth 2.0 authorization server (/oauth/*, the RFC 8414 metadata, /admin/oauth-clients) and the resolver that
 * lets its access tokens authenticate like API keys. Depends on the store (codes, revocation announcements) and the
 * database, not on AuthModule, so AuthModule can import it for the resolver without a cycle.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([OAuthClientEntity, OAuthTokenEntity, UserEntity]),
    ConfigModule.forFeature(oauthConfig),
  ],
  controllers: [OAuthController, OAuthClientsController],
  providers: [OAuthService, OAuthTokenService, OAuthClientsService, OAuthAccessTokenResolver],
  exports: [OAuthAccessTokenResolver],
})
export class OAuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(formBody()).forRoutes(OAuthController);
  }
}
