import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyResolver } from './api-key.resolver';
import { AccountApiKeysController, AdminApiKeysController } from './api-keys/api-keys.controllers';
import { ApiKeysService } from './api-keys/api-keys.service';
import { BootstrapAdminService } from './bootstrap-admin.service';
import { CREDENTIAL_RESOLVERS, type CredentialResolver } from './credential-resolver';
import { CredentialService } from './credential.service';
import { ApiKeyEntity } from './entities/api-key.entity';
import { UserEntity } from './entities/user.entity';
import { OAuthAccessTokenResolver } from './oauth/oauth-access-token.resolver';
import { OAuthModule } from './oauth/oauth.module';
import { LastUsedRecorder } from './last-used.recorder';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';

@Module({
  imports: [TypeOrmModule.forFeature([UserEntity, ApiKeyEntity]), OAuthModule],
  controllers: [UsersController, AdminApiKeysController, AccountApiKeysController],
  providers: [
    ApiKeyResolver,
    {
      provide: CREDENTIAL_RESOLVERS,
      useFactory: (...resolvers: CredentialResolver[]) => resolvers,
      inject: [ApiKeyResolver, OAuthAccessTokenResolver],
    },
    CredentialService,
    LastUsedRecorder,
    BootstrapAdminService,
    UsersService,
    ApiKeysService,
  ],
  exports: [CredentialService, UsersService, ApiKeysService],
})
export class AuthModule {}
