import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyResolver } from './api-key.resolver';
import { BootstrapAdminService } from './bootstrap-admin.service';
import { CREDENTIAL_RESOLVERS, type CredentialResolver } from './credential-resolver';
import { CredentialService } from './credential.service';
import { ApiKeyEntity } from './entities/api-key.entity';
import { UserEntity } from './entities/user.entity';
import { AuthGuard } from './guards/auth.guard';

@Module({
  imports: [TypeOrmModule.forFeature([UserEntity, ApiKeyEntity])],
  providers: [
    ApiKeyResolver,
    {
      provide: CREDENTIAL_RESOLVERS,
      useFactory: (...resolvers: CredentialResolver[]) => resolvers,
      inject: [ApiKeyResolver],
    },
    CredentialService,
    BootstrapAdminService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [CredentialService],
})
export class AuthModule {}
