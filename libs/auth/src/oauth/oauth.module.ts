import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '../users/users.module';
import { formBody } from './form-body.middleware';
import { OAuthClientEntity } from './oauth-client.entity';
import { OAuthClientsController } from './oauth-clients.controller';
import { OAuthClientsService } from './oauth-clients.service';
import { oauthConfig } from './oauth.config';
import { OAuthController } from './oauth.controller';
import { OAuthService } from './oauth.service';
import { OAuthTokenEntity } from './oauth-token.entity';
import { OAuthTokenService } from './oauth-tokens.service';

/**
 * The OAuth 2.0 authorization server (/oauth/*, the RFC 8414 metadata, /admin/oauth-clients). Signs users in through
 * UsersModule; its access tokens authenticate like API keys through the resolver in CredentialsModule. Depends on
 * the store (codes, revocation announcements) and the database, not on AuthModule, which imports it.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([OAuthClientEntity, OAuthTokenEntity]),
    ConfigModule.forFeature(oauthConfig),
    UsersModule,
  ],
  controllers: [OAuthController, OAuthClientsController],
  providers: [OAuthService, OAuthTokenService, OAuthClientsService],
})
export class OAuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(formBody()).forRoutes(OAuthController);
  }
}
