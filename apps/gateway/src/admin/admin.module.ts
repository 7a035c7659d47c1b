import { Module } from '@nestjs/common';
import { UsageModule } from '@xrouter/usage';
import { ProvidersController } from './providers.controller';
import { AccountBudgetController, AccountUsageController, AdminUsageController } from './usage.controller';

@Module({
  imports: [UsageModule],
  controllers: [ProvidersController, AdminUsageController, AccountUsageController, AccountBudgetController],
})
export class AdminModule {}
