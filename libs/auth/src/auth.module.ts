import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountApiKeysController, AdminApiKeysController } from './api-keys/api-keys.controllers';
import { ApiKeysService } from './api-keys/api-keys.service';
import { BootstrapAdminService } from './bootstrap-admin.service';
import { CredentialsModule } from './credentials.module';
import { ApiKeyEntity } from './entities/api-key.entity';
import { UserEntity } from './entities/user.entity';
import { OAuthModule } from './oauth/oauth.module';
import { UsersModule } from './users/users.module';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, UserEntity]), CredentialsModule, UsersModule, OAuthModule],
  controllers: [AdminApiKeysController, AccountApiKeysController],
  providers: [BootstrapAdminService, ApiKeysService],
  exports: [CredentialsModule, UsersModule, ApiKeysService],
})
export class AuthModule {}
