import { Module } from '@nestjs/common';
import { REPORTING_DATA_SOURCE } from '@xrouter/database';
import { DataSource } from 'typeorm';
import { BudgetService } from './budget.service';
import { PartitionMaintenanceService } from './partition-maintenance.service';
import { SqlRequestLogWriter } from './request-log.writer';
import { UsageReportService } from './usage-report.service';
import { usageConfig, type UsageSettings } from './usage.config';
import { USAGE_REPORT_DATA_SOURCE, USAGE_WRITER } from './usage.constants';
import { UsageRecorder } from './usage.recorder';

/**
 * Usage rows: the batched recorder, day-partition maintenance and reports. Needs `usageConfig` loaded in the
 * ConfigModule and the DatabaseModule (reports and budget spend read from its reporting DataSource: the read
 * replica when DATABASE_READ_URL is set); raw SQL only, so no entity to register.
 */
@Module({
  providers: [
    UsageRecorder,
    {
      provide: PartitionMaintenanceService,
      inject: [DataSource, usageConfig.KEY],
      useFactory: (dataSource: DataSource, settings: UsageSettings) =>
        new PartitionMaintenanceService(dataSource, settings),
    },
    UsageReportService,
    BudgetService,
    { provide: USAGE_WRITER, useClass: SqlRequestLogWriter },
    { provide: USAGE_REPORT_DATA_SOURCE, useExisting: REPORTING_DATA_SOURCE },
  ],
  exports: [UsageRecorder, UsageReportService, PartitionMaintenanceService, BudgetService],
})
export class UsageModule {}
