import { Module } from '@nestjs/common';
import { UsageModule } from '@xrouter/usage';
import { ProvidersController } from './providers.controller';
import { AccountUsageController, AdminUsageController } from './usage.controller';

@Module({ imports: [UsageModule], controllers: [ProvidersController, AdminUsageController, AccountUsageController] })
export class AdminModule {}
